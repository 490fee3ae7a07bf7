"""The CMDB demo estate: idempotent, and shaped so impact analysis and attribute search show something."""

import pytest

from configuration import demo, queries
from configuration.models import CIClass, ConfigurationItem, Relationship
from itsm.models import ChangeRecord
from people import demo as people_demo

pytestmark = pytest.mark.django_db


@pytest.fixture
def estate():
    people_demo.load_demo()
    demo.load_demo()


def ci(name):
    return ConfigurationItem.objects.select_related("ci_class").get(name=name)


def test_loading_twice_creates_nothing_the_second_time(estate):
    counts = (ConfigurationItem.objects.count(), Relationship.objects.count(), ChangeRecord.objects.count())
    assert 40 <= counts[0] <= 60
    assert counts[1] >= counts[0]

    summary = demo.load_demo()

    assert summary.startswith("0 configuration items and 0 relationships created")
    assert (
        ConfigurationItem.objects.count(),
        Relationship.objects.count(),
        ChangeRecord.objects.count(),
    ) == counts


def test_every_ci_has_history_an_owner_group_and_a_valid_class(estate):
    items = list(ConfigurationItem.objects.select_related("ci_class", "owner_group"))
    assert all(item.owner_group is not None for item in items)
    with_history = set(
        ChangeRecord.objects.filter(content_type__model="configurationitem").values_list(
            "object_id", flat=True
        )
    )
    assert {item.pk for item in items} <= with_history
    slugs = {item.ci_class.slug for item in items}
    assert {
        "business-service",
        "technical-service",
        "application",
        "server",
        "virtual-machine",
        "database",
        "network-device",
        "storage",
        "software",
        "location",
        "document",
    } <= slugs


def test_business_services_are_consumed_by_the_demo_organisations(estate):
    assert set(ci("Payroll").organisations.values_list("code", flat=True)) == {"fin"}
    assert set(ci("E-mail and collaboration").organisations.values_list("code", flat=True)) == {
        "fin",
        "sales",
        "it",
    }
    assert CIClass.objects.get(slug="business-service").items.count() == 4


def test_payroll_depends_on_reaches_its_database_server_through_app_and_database(estate):
    payroll = ci("Payroll")

    result = queries.impact_analysis(payroll, direction="depends_on")

    by_name = {node.ci.name: node for node in result.nodes}
    assert {"PayFlow payroll", "payroll-db", "srv-db-01", "Identity and single sign-on"} <= set(by_name)
    path = [ConfigurationItem.objects.get(pk=pk).name for pk in by_name["srv-db-01"].path]
    assert path[0] == "Payroll" and path[-1] == "srv-db-01"
    assert "payroll-db" in path or "Identity and single sign-on" in path


def test_a_failed_core_switch_impacts_several_business_services(estate):
    result = queries.impact_analysis(ci("core-sw-01"), direction="impacts")

    impacted = {node.ci.name for node in result.services if node.ci.ci_class.slug == "business-service"}
    assert {"Payroll", "Online shop", "E-mail and collaboration", "Customer support portal"} <= impacted


def test_a_failed_disk_impacts_payroll_through_its_server(estate):
    result = queries.impact_analysis(ci("srv-db-01 disk 0"), direction="impacts")

    names = {node.ci.name for node in result.nodes}
    assert {"srv-db-01", "payroll-db", "PayFlow payroll", "Payroll"} <= names


def test_attribute_search_finds_disk_models_and_software_versions(estate):
    disks = queries.cis_matching(
        ci_class=CIClass.objects.get(slug="storage"), attributes={"model": "XYZ-800"}
    )
    assert disks.count() == 3
    openssl = queries.cis_matching(
        ci_class=CIClass.objects.get(slug="software"), attributes={"version": "3.0.2"}
    )
    assert sorted(openssl.values_list("name", flat=True)) == [
        "OpenSSL 3.0.2 on vm-shop-web-01",
        "OpenSSL 3.0.2 on vm-shop-web-02",
    ]


def test_some_servers_keep_a_sensitive_credentials_reference(estate):
    assert ci("srv-db-01").attributes["admin_credentials_ref"] == "vault:secret/srv-db-01"
    assert "admin_credentials_ref" not in ci("srv-backup-01").attributes
