"""CMDB services: schema validation, identifiers, relationships, verification, impact analysis."""

import pytest
from django.core.exceptions import ValidationError

from configuration import queries, services
from configuration.models import CIClass, ConfigurationItem, RelationshipType
from itsm import queries as kernel_queries
from tests.factories import OrganisationFactory

pytestmark = pytest.mark.django_db


def klass(slug):
    return CIClass.objects.get(slug=slug)


def rtype(slug):
    return RelationshipType.objects.get(slug=slug)


def make(name, slug="server", **kwargs):
    return services.ci_create(actor=None, ci_class=klass(slug), name=name, **kwargs)


def test_default_classes_inherit_attributes_from_their_parent():
    from configuration.schema import class_schema

    server = class_schema(klass("server"))
    assert {"manufacturer", "model", "os", "cpu_cores"} <= set(server)
    assert server["admin_credentials_ref"].sensitive


def test_attributes_are_validated_with_the_attribute_named():
    with pytest.raises(ValidationError) as error:
        make("srv", attributes={"cpu_cores": "many", "ip_address": "999.1.1.1", "colour": "red"})
    errors = error.value.message_dict
    assert "whole number" in errors["attributes.cpu_cores"][0]
    assert "IP" in errors["attributes.ip_address"][0]
    assert "not an attribute of Server" in errors["attributes.colour"][0]


def test_required_attribute_is_enforced():
    with pytest.raises(ValidationError) as error:
        make("db", slug="database", attributes={"version": "16"})
    assert "required" in error.value.message_dict["attributes.engine"][0]


def test_values_are_stored_typed():
    ci = make("srv", attributes={"cpu_cores": "8", "memory_gb": "15.5"}, identifiers={"hostname": "SRV-01"})
    assert ci.attributes == {"cpu_cores": 8, "memory_gb": 15.5}
    assert dict(ci.identifiers.values_list("scheme", "value")) == {"hostname": "srv-01"}


def test_the_compiled_validator_gives_the_values_and_messages_of_the_plain_one():
    from configuration import schema

    server = klass("server")
    validate = schema.AttributeValidator(server, schema.class_schema(server))
    typed = {"cpu_cores": 8, "memory_gb": 15.5, "os": "Debian", "ip_address": "10.0.0.1"}
    assert validate(typed) == typed
    assert validate({"cpu_cores": "8", "memory_gb": 16, "os": 12, "ip_address": " 10.0.0.1 "}) == {
        "cpu_cores": 8,
        "memory_gb": 16.0,
        "os": "12",
        "ip_address": "10.0.0.1",
    }
    wrong = {"cpu_cores": True, "memory_gb": float("inf"), "os": ["x"], "colour": "red"}
    with pytest.raises(ValidationError) as compiled:
        validate(wrong)
    with pytest.raises(ValidationError) as plain:
        schema.validate_attributes(server, wrong)
    assert compiled.value.message_dict == plain.value.message_dict
    assert set(compiled.value.message_dict) == {f"attributes.{key}" for key in wrong}


def test_an_identifier_identifies_one_ci_only():
    make("a", identifiers={"hostname": "web-01"})
    with pytest.raises(ValidationError) as error:
        make("b", identifiers={"hostname": "WEB-01"})
    assert "already identifies" in error.value.message_dict["identifiers.hostname"][0]


def test_update_records_history_and_is_a_no_op_when_unchanged(agent):
    ci = make("srv", attributes={"os": "Debian"})
    same = services.ci_update(actor=agent, ci=ci, changes={"attributes": {"os": "Debian"}})
    assert same.version == 1
    changed = services.ci_update(
        actor=agent,
        ci=ci,
        changes={"attributes": {"os": "Debian", "cpu_cores": 4}},
        identifiers={"hostname": "srv-9"},
    )
    assert changed.version == 2
    fields = {key for record in kernel_queries.history_for(ci) for key in record.changes}
    assert {"attributes", "identifiers"} <= fields


def test_search_text_excludes_sensitive_values():
    ci = make(
        "srv",
        attributes={"os": "Debian", "admin_credentials_ref": "vault:secret/srv"},
        identifiers={"hostname": "srv-77"},
    )
    assert "vault" not in ci.search_text and "Debian" in ci.search_text and "srv-77" in ci.search_text


def test_relationship_rules_and_history(agent):
    app, server = make("Payroll", slug="application"), make("srv-1")
    relationship = services.relationship_create(actor=agent, source=app, target=server, type=rtype("runs-on"))
    with pytest.raises(ValidationError, match="already"):
        services.relationship_create(actor=agent, source=app, target=server, type=rtype("runs-on"))
    with pytest.raises(ValidationError, match="itself"):
        services.relationship_create(actor=agent, source=app, target=app, type=rtype("depends-on"))
    services.relationship_delete(actor=agent, relationship=relationship)
    reasons = [record.reason for record in kernel_queries.history_for(server)]
    assert "Relationship added" in reasons and "Relationship removed" in reasons


def test_verify_stamps_who_and_when(agent):
    ci = services.ci_verify(actor=agent, ci=make("srv"))
    assert ci.last_verified_by == agent and ci.last_verified_at is not None


@pytest.fixture
def estate():
    """payroll (service) -> app -> vm -> host <- disk(part of host); app -> db -> host; a cycle app<->db."""
    payroll = make("Payroll", slug="business-service")
    shop = make("Shop", slug="business-service")
    app = make("Payroll app", slug="application")
    vm = make("vm-1", slug="virtual-machine", identifiers={"hostname": "vm-1"})
    host = make("host-1", identifiers={"hostname": "host-1"})
    disk = make("disk-1", slug="storage", identifiers={"serial": "D1"})
    db = make("payroll-db", slug="database", attributes={"engine": "postgresql"})
    backup = make("backup-1", identifiers={"hostname": "backup-1"})
    link = [
        (payroll, "depends-on", app),
        (shop, "depends-on", app),
        (app, "runs-on", vm),
        (vm, "runs-on", host),
        (disk, "part-of", host),
        (app, "depends-on", db),
        (db, "depends-on", app),
        (db, "runs-on", host),
        (host, "backed-up-by", backup),
    ]
    for source, kind, target in link:
        services.relationship_create(actor=None, source=source, target=target, type=rtype(kind))
    return {ci.name: ci for ci in (payroll, shop, app, vm, host, disk, db, backup)}


def test_impact_of_a_failed_disk_reaches_both_services_with_paths(estate):
    result = queries.impact_analysis(estate["disk-1"])
    names = {node.ci.name for node in result.services}
    assert names == {"Payroll", "Shop"}
    payroll = next(node for node in result.nodes if node.ci.name == "Payroll")
    path = list(payroll.path)
    assert path[0] == estate["disk-1"].pk and path[-1] == estate["Payroll"].pk
    assert path == [estate[n].pk for n in ("disk-1", "host-1", "vm-1", "Payroll app", "Payroll")]
    assert payroll.depth == 4
    assert estate["backup-1"].pk not in {node.ci.pk for node in result.nodes}  # backed up by: no impact


def test_cycle_terminates_and_each_ci_appears_once(estate):
    result = queries.impact_analysis(estate["payroll-db"], max_depth=20)
    ids = [node.ci.pk for node in result.nodes]
    assert len(ids) == len(set(ids))
    assert estate["payroll-db"].pk not in ids
    assert {"Payroll app", "Payroll", "Shop"} <= {node.ci.name for node in result.nodes}


def test_depends_on_lists_what_a_service_needs(estate):
    result = queries.impact_analysis(estate["Payroll"], direction="depends_on")
    assert {"Payroll app", "vm-1", "host-1", "payroll-db", "disk-1"} == {
        node.ci.name for node in result.nodes
    }


def test_depth_limit_is_respected(estate):
    result = queries.impact_analysis(estate["disk-1"], max_depth=2)
    assert max(node.depth for node in result.nodes) == 2
    assert "Payroll" not in {node.ci.name for node in result.nodes}


def test_impact_analysis_is_four_queries_whatever_it_reaches(estate, django_assert_num_queries):
    # reference data (types, service classes), the service CIs, the walk, the rows of the CIs on the paths
    with django_assert_num_queries(4):
        result = queries.impact_analysis(estate["disk-1"])
    assert {node.ci.name for node in result.nodes} == {
        "host-1",
        "vm-1",
        "Payroll app",
        "payroll-db",
        "Payroll",
        "Shop",
    }


def test_impact_nodes_read_like_the_cis_they_stand_for(estate):
    organisations = [OrganisationFactory(name=name) for name in ("Zeta", "Alpha")]
    estate["Payroll"].organisations.set(organisations)
    result = queries.impact_analysis(estate["disk-1"])
    for node in result.nodes:
        model = ConfigurationItem.objects.select_related("ci_class").get(pk=node.ci.pk)
        ci = node.ci
        assert (ci.id, ci.number, ci.name, ci.status, ci.environment, ci.criticality) == (
            model.id,
            model.number,
            model.name,
            model.status,
            model.environment,
            model.criticality,
        )
        assert (
            ci.ci_class.pk,
            ci.ci_class.slug,
            ci.ci_class.name,
            ci.ci_class.is_service,
            ci.ci_class.icon,
        ) == (
            model.ci_class.pk,
            model.ci_class.slug,
            model.ci_class.name,
            model.ci_class.is_service,
            model.ci_class.icon,
        )
        assert ci.get_absolute_url() == model.get_absolute_url()
        assert ci.get_status_display() == model.get_status_display()
        assert ci.get_environment_display() == model.get_environment_display()
        assert ci.get_criticality_display() == model.get_criticality_display()
        assert (str(ci), ci.record_label) == (str(model), model.record_label)
    payroll = next(node for node in result.nodes if node.ci.name == "Payroll")
    assert payroll.organisations == ["Alpha", "Zeta"]  # services only, by name
    assert all(node.organisations == [] for node in result.nodes if not node.ci.ci_class.is_service)
    assert result.labels[estate["host-1"].pk] == (estate["host-1"].number, "host-1")


def test_attribute_matching_finds_typed_and_text_values():
    make("a", slug="software", attributes={"version": "2.4.1"})
    make("b", slug="software", attributes={"version": "2.4.2"})
    make("s1", attributes={"cpu_cores": 8})
    assert [ci.name for ci in queries.cis_matching(attributes={"version": "2.4.1"})] == ["a"]
    assert [ci.name for ci in queries.cis_matching(attributes={"cpu_cores": "8"})] == ["s1"]
    assert [
        ci.name for ci in queries.cis_matching(ci_class=klass("hardware"), attributes={"cpu_cores": "8"})
    ] == ["s1"]


def test_actor_who_cannot_see_sensitive_values_keeps_them(agent, admin_user):
    ci = make("srv", attributes={"os": "Debian", "admin_credentials_ref": "vault:srv"})
    updated = services.ci_update(actor=agent, ci=ci, changes={"attributes": {"os": "Ubuntu"}})
    assert updated.attributes == {"os": "Ubuntu", "admin_credentials_ref": "vault:srv"}
    cleared = services.ci_update(actor=admin_user, ci=updated, changes={"attributes": {"os": "Ubuntu"}})
    assert cleared.attributes == {"os": "Ubuntu"}


def test_history_hides_sensitive_values_from_readers_without_the_right(agent, admin_user):
    ci = make("srv", attributes={"admin_credentials_ref": "vault:srv"})
    for_agent = kernel_queries.readable_history(ci, kernel_queries.history_for(ci), agent)
    assert "vault:srv" not in str([c.changes for c in for_agent])
    for_admin = kernel_queries.readable_history(ci, kernel_queries.history_for(ci), admin_user)
    assert "vault:srv" in str([c.changes for c in for_admin])
