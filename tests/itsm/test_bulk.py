"""COPY-based bulk insert: awkward text, NULLs and JSON survive the round trip."""

import pytest
from django.utils import timezone

from itsm import bulk
from itsm.models import ChangeRecord, allocate_numbers
from tests.kernelapp.models import Ticket

pytestmark = pytest.mark.django_db


def test_copy_rows_round_trips_quotes_newlines_nulls_and_json(agent):
    now = timezone.now()
    ids = bulk.allocate_ids(Ticket, 2)
    numbers = allocate_numbers("TKT", 2)
    rows = [
        {
            "id": ids[0],
            "created_at": now,
            "updated_at": now,
            "version": 1,
            "number": numbers[0],
            "title": 'He said "hi", then left',
            "description": "line 1\nline 2, with \\N inside",
            "owner_id": None,
            "priority": 1,
        },
        {
            "id": ids[1],
            "created_at": now,
            "updated_at": now,
            "version": 1,
            "number": numbers[1],
            "title": "",
            "description": "",
            "owner_id": agent.pk,
            "priority": 4,
        },
    ]
    bulk.copy_rows(Ticket, rows)
    first, second = Ticket.objects.get(pk=ids[0]), Ticket.objects.get(pk=ids[1])
    assert first.title == 'He said "hi", then left'
    assert first.description == "line 1\nline 2, with \\N inside"
    assert first.owner_id is None and second.owner_id == agent.pk
    assert second.title == "" and second.priority == 4
    assert Ticket.objects.filter(search_vector="line").count() == 1  # generated column computed

    bulk.copy_rows(
        ChangeRecord,
        [
            {
                "content_type_id": 1,
                "object_id": ids[0],
                "object_repr": "x",
                "action": "create",
                "actor_id": None,
                "at": now,
                "version": 1,
                "changes": {"a": {"old": None, "new": [1, "b"]}},
                "reason": "",
            }
        ],
    )
    assert ChangeRecord.objects.get(object_id=ids[0]).changes == {"a": {"old": None, "new": [1, "b"]}}
