"""Record numbers: formatted, unique under concurrency, gaps allowed after rollback."""

import threading

import pytest
from django.db import connection, transaction

from itsm.models import allocate_number, allocate_numbers
from tests.kernelapp.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)


def test_number_has_prefix_and_seven_digits():
    ticket = Ticket.objects.create(title="first")
    assert ticket.number.startswith("TKT")
    assert len(ticket.number) == 10 and ticket.number[3:].isdigit()


def test_200_concurrent_creations_get_200_distinct_numbers():
    numbers: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(20)
    lock = threading.Lock()

    def create_ten():
        try:
            barrier.wait()
            for i in range(10):
                with transaction.atomic():
                    ticket = Ticket.objects.create(title=f"concurrent {i}")
                with lock:
                    numbers.append(ticket.number)
        except BaseException as error:  # collected and asserted below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=create_ten) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(numbers) == 200
    assert len(set(numbers)) == 200
    assert Ticket.objects.count() == 200
    assert Ticket.objects.values("number").distinct().count() == 200


def test_rolled_back_transaction_leaves_a_gap_never_a_collision():
    first = Ticket.objects.create(title="before")
    with pytest.raises(RuntimeError), transaction.atomic():
        Ticket.objects.create(title="rolled back")
        raise RuntimeError("abort")
    after = Ticket.objects.create(title="after")
    assert int(after.number[3:]) == int(first.number[3:]) + 2


def test_bulk_allocation_gives_distinct_numbers():
    numbers = allocate_numbers("TKT", 500)
    assert len(set(numbers)) == 500
    assert allocate_number("TKT") not in numbers


def test_bad_prefix_is_refused():
    with pytest.raises(ValueError, match="prefix"):
        allocate_number("bad-prefix")
