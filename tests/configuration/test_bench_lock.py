"""The benchmark runner's lock: a second run against the same server stops at once, saying why."""

import os

import pytest

from bench import __main__ as bench_main
from bench.runner import BenchLock, BenchmarkBusy

# Not the runner's own key: a benchmark running meanwhile on the same server must not fail these.
TEST_KEY = (0x6974736D, 0x74657374)


@pytest.fixture
def url():
    return os.environ["DATABASE_URL"]


def test_a_second_run_fails_at_once_naming_the_first(url):
    second = BenchLock(url, "python -m bench cmdb (pid 2)", key=TEST_KEY)
    with BenchLock(url, "python -m bench cmdb (pid 1)", key=TEST_KEY):
        with pytest.raises(BenchmarkBusy, match=r"another benchmark run .*python -m bench cmdb \(pid 1\)"):
            second.__enter__()
        assert second.connection is None  # its session was closed
    with BenchLock(url, "python -m bench cmdb (pid 3)", key=TEST_KEY):  # released with the first
        pass


def test_the_command_exits_non_zero_with_the_message(monkeypatch, capsys):
    def busy(name, module):
        raise BenchmarkBusy("another benchmark run is using the itsm_bench database on this server")

    monkeypatch.setattr(bench_main, "run_benchmark", busy)
    assert bench_main.main(["cmdb"]) == 3
    assert "another benchmark run is using the itsm_bench database" in capsys.readouterr().err
