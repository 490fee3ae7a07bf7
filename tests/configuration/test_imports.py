"""Imports from feeds: reconciliation, per-row errors with nothing half-written, idempotency."""

import gc

import pytest
from django.core.exceptions import ValidationError

from configuration import imports
from configuration.models import CIIdentifier, ConfigurationItem, DiscoveredItem, Relationship
from itsm.models import ChangeRecord
from tests.factories import SupportGroupFactory

pytestmark = pytest.mark.django_db

FEED = [
    {
        "class": "server",
        "name": "host-1",
        "identifiers": {"hostname": "host-1", "serial": "S1"},
        "attributes": {"os": "Debian", "cpu_cores": 16},
        "owner_group": "Infra",
    },
    {
        "class": "virtual-machine",
        "name": "vm-1",
        "identifiers": {"hostname": "vm-1"},
        "relationships": [{"type": "runs-on", "target": {"identifiers": {"hostname": "host-1"}}}],
    },
    {
        "class": "business-service",
        "name": "Payroll",
        "relationships": [{"type": "depends-on", "target": "hostname=vm-1"}],
    },
]


@pytest.fixture(autouse=True)
def infra_group():
    return SupportGroupFactory(name="Infra")


def run(items, mode="upsert", actor=None):
    return imports.import_items(actor=actor, source="discovery", items=items, mode=mode).as_dict()


def test_import_creates_cis_identifiers_relationships_and_history(agent):
    report = run(FEED, actor=agent)
    assert (report["created"], report["errors"]) == (3, 0), report["rows"]
    host = ConfigurationItem.objects.get(name="host-1")
    assert host.source == "discovery" and host.owner_group.name == "Infra" and host.last_seen_at
    assert host.attributes == {"os": "Debian", "cpu_cores": 16}
    assert host.number.startswith("CI")
    assert Relationship.objects.count() == 2
    assert ChangeRecord.objects.filter(object_id=host.pk, action="create", actor=agent).exists()


def test_awkward_text_survives_the_bulk_write():
    awkward = 'He said "hi", then\nleft; a\\b, \\N and\n\\.\nthe end'
    report = run(
        [
            {
                "class": "server",
                "name": "\\N",
                "identifiers": {"hostname": "odd-1"},
                "attributes": {"os": '  spaced, "quoted"  ', "model": awkward},
                "description": awkward,
            },
            {"class": "server", "name": "plain", "identifiers": {"hostname": "odd-2"}, "description": ""},
        ]
    )
    assert report["created"] == 2, report["rows"]
    odd, plain = ConfigurationItem.objects.get(name="\\N"), ConfigurationItem.objects.get(name="plain")
    assert odd.description == awkward
    assert odd.attributes == {"os": '  spaced, "quoted"  ', "model": awkward}
    assert plain.description == "" and plain.owner_group_id is None and plain.location_id is None
    assert ChangeRecord.objects.get(object_id=odd.pk).changes["description"]["new"] == awkward


def test_the_garbage_collector_is_back_on_after_an_import():
    assert gc.isenabled()
    run(FEED)
    assert gc.isenabled()
    with pytest.raises(ValidationError):
        run("not a list")
    assert gc.isenabled()
    gc.disable()
    try:
        run(FEED)
        assert not gc.isenabled()  # someone else turned it off: it stays off
    finally:
        gc.enable()


def test_the_same_feed_twice_changes_nothing():
    run(FEED)
    versions = dict(ConfigurationItem.objects.values_list("pk", "version"))
    history = ChangeRecord.objects.count()
    report = run(FEED)
    assert (report["unchanged"], report["created"], report["updated"]) == (3, 0, 0), report["rows"]
    assert dict(ConfigurationItem.objects.values_list("pk", "version")) == versions
    assert ChangeRecord.objects.count() == history
    assert ConfigurationItem.objects.count() == 3 and Relationship.objects.count() == 2


def test_changed_row_is_updated_through_the_service_with_history():
    run(FEED)
    changed = [dict(FEED[0], attributes={"os": "Debian", "cpu_cores": 32})]
    report = run(changed)
    assert report["updated"] == 1
    host = ConfigurationItem.objects.get(name="host-1")
    assert host.attributes["cpu_cores"] == 32 and host.version == 2
    assert ChangeRecord.objects.filter(object_id=host.pk, action="update").exists()


def test_reconciles_by_any_identifier_key_of_the_class():
    run(FEED[:1])
    report = run([{"class": "server", "name": "host-1 renamed", "identifiers": {"serial": "S1"}}])
    assert report["updated"] == 1
    assert ConfigurationItem.objects.get().name == "host-1 renamed"


def test_rows_in_error_write_nothing_and_say_why():
    items = [
        {
            "class": "server",
            "name": "bad",
            "identifiers": {"hostname": "bad-1"},
            "attributes": {"cpu_cores": "lots"},
        },
        {"class": "teapot", "name": "x"},
        {"class": "server", "name": "no-id"},
        {
            "class": "virtual-machine",
            "name": "orphan",
            "identifiers": {"hostname": "vm-9"},
            "relationships": [{"type": "runs-on", "target": {"identifiers": {"hostname": "bad-1"}}}],
        },
        {
            "class": "virtual-machine",
            "name": "lost",
            "identifiers": {"hostname": "vm-8"},
            "relationships": [{"type": "runs-on", "target": "CI9999999"}],
        },
        {"class": "server", "name": "good", "identifiers": {"hostname": "good-1"}},
        {"class": "server", "name": "dupe", "identifiers": {"hostname": "good-1"}},
    ]
    report = run(items)
    messages = {row["row"]: row["message"] for row in report["rows"] if row["status"] == "error"}
    assert "attributes.cpu_cores" in messages[1]
    assert "Unknown CI class 'teapot'" in messages[2]
    assert "hostname or serial or fqdn" in messages[3]
    assert "row 1" in messages[4]
    assert "no CI found for CI9999999" in messages[5]
    assert "Duplicate of row 6" in messages[7]
    assert report["created"] == 1 and report["errors"] == 6
    assert list(ConfigurationItem.objects.values_list("name", flat=True)) == ["good"]
    assert CIIdentifier.objects.count() == 1


def test_class_mismatch_is_an_error():
    run(FEED[:1])
    report = run([{"class": "virtual-machine", "name": "host-1", "identifiers": {"hostname": "host-1"}}])
    assert report["errors"] == 1 and "not a Virtual machine" in report["rows"][0]["message"]


def test_audit_mode_records_undocumented_items_and_creates_nothing():
    run(FEED[:1])
    report = run(
        [FEED[0], {"class": "server", "name": "shadow-it", "identifiers": {"hostname": "shadow"}}],
        mode="audit",
    )
    assert (report["seen"], report["discovered"]) == (1, 1)
    assert ConfigurationItem.objects.count() == 1
    assert DiscoveredItem.objects.get().identifiers == {"hostname": "shadow"}
    run([{"class": "server", "name": "shadow-it", "identifiers": {"hostname": "shadow"}}], mode="audit")
    assert DiscoveredItem.objects.count() == 1


def test_whole_payload_errors():
    with pytest.raises(ValidationError, match="Name the feed"):
        imports.import_items(actor=None, source=" ", items=[])
    with pytest.raises(ValidationError, match="Mode"):
        imports.import_items(actor=None, source="x", items=[], mode="merge")


def test_csv_format_round_trip():
    text = (
        "class,name,owner_group,id.hostname,attr.os,attr.cpu_cores,rel.runs-on\n"
        "server,host-1,Infra,host-1,Debian,8,\n"
        "virtual-machine,vm-1,,vm-1,Ubuntu,,hostname=host-1\n"
    )
    items = imports.parse_csv(text)
    assert items[1]["relationships"] == [{"type": "runs-on", "target": "hostname=host-1"}]
    report = run(items)
    assert report["created"] == 2 and Relationship.objects.count() == 1
    with pytest.raises(ValidationError, match="Unknown column"):
        imports.parse_csv("class,name,colour\nserver,a,red\n")
    with pytest.raises(ValidationError, match="Not valid JSON"):
        imports.parse_json("{nope")


def test_import_command_reads_a_file(tmp_path):
    from io import StringIO

    from django.core.management import call_command

    path = tmp_path / "feed.json"
    path.write_text('{"items": [{"class": "server", "name": "cli-1", "identifiers": {"hostname": "cli-1"}}]}')
    out = StringIO()
    call_command("import_cis", str(path), "--source", "terraform", stdout=out)
    assert "1 created" in out.getvalue()
    assert ConfigurationItem.objects.get().source == "terraform"
