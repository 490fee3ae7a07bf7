"""CMDB API: schema validation, sensitive attributes, impact analysis, relationships, import, export."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from configuration.api import views
from configuration.models import ConfigurationItem, Relationship
from itsm import roles
from tests.configuration.factories import (
    CIClassFactory,
    CIFactory,
    RelationshipFactory,
    RelationshipTypeFactory,
    ci_via_service,
    service_ci,
)
from tests.factories import OrganisationFactory, SupportGroupFactory, UserFactory

pytestmark = pytest.mark.django_db

CIS = "/api/v1/configuration/cis/"
RELATIONSHIPS = "/api/v1/configuration/relationships/"
CLASSES = "/api/v1/configuration/classes/"
TYPES = "/api/v1/configuration/relationship-types/"
IMPORT = "/api/v1/configuration/import/"
AUDIT = "/api/v1/configuration/audit/"
SECRET = "vault:kv/servers/db-01"


@pytest.fixture
def security_user(db):
    return UserFactory(username="security1", roles=[roles.SECURITY])


@pytest.fixture
def secret_server(db):
    return ci_via_service(
        name="db-01",
        identifiers={"hostname": "db-01"},
        attributes={"os": "Debian", "cpu_cores": 8, "admin_credentials_ref": SECRET},
    )


# ------------------------------------------------------------------------------ create and validate


def test_agent_creates_a_ci_with_identifiers_and_history(api_as, agent):
    group, finance = SupportGroupFactory(), OrganisationFactory()
    client = api_as(agent)
    response = client.post(
        CIS,
        {
            "name": "web-01",
            "ci_class": "server",
            "identifiers": {"hostname": "WEB-01", "serial": "X123"},
            "attributes": {"cpu_cores": "4", "ip_address": "10.0.0.5"},
            "owner_group": group.pk,
            "organisations": [finance.pk],
            "criticality": 2,
        },
        format="json",
    )
    assert response.status_code == 201, response.data
    data = response.data
    assert data["number"].startswith("CI") and data["version"] == 1
    assert data["ci_class"] == "server" and data["ci_class_name"] == "Server" and data["is_service"] is False
    assert data["identifiers"] == {"hostname": "web-01", "serial": "X123"}
    assert data["attributes"] == {"cpu_cores": 4, "ip_address": "10.0.0.5"}
    assert data["source"] == "manual" and data["organisations"] == [finance.pk]
    history = client.get(f"{CIS}{data['id']}/history/").data["results"]
    assert (
        history[0]["action"] == "create" and history[0]["changes"]["identifiers"]["new"]["serial"] == "X123"
    )


@pytest.mark.parametrize(
    ("ci_class", "attributes", "named"),
    [
        ("server", {"cpu_cores": "many"}, "attributes.cpu_cores"),
        ("server", {"ip_address": "300.1.1.1"}, "attributes.ip_address"),
        ("database", {"version": "16"}, "attributes.engine"),  # required, missing
        ("database", {"engine": "dbase"}, "attributes.engine"),  # not one of the choices
        ("server", {"colour": "blue"}, "attributes.colour"),  # not in the class's schema
    ],
)
def test_schema_errors_are_400_naming_the_attribute(api_as, agent, ci_class, attributes, named):
    response = api_as(agent).post(
        CIS, {"name": "x", "ci_class": ci_class, "attributes": attributes}, format="json"
    )
    assert response.status_code == 400, response.data
    assert named in response.data["errors"]
    assert named in response.data["detail"]
    assert not ConfigurationItem.objects.exists()


def test_update_with_a_wrong_type_is_400_and_changes_nothing(api_as, agent, secret_server):
    response = api_as(agent).patch(
        f"{CIS}{secret_server.pk}/", {"attributes": {"cpu_cores": 2.5}}, format="json"
    )
    assert response.status_code == 400
    assert list(response.data["errors"]) == ["attributes.cpu_cores"]
    secret_server.refresh_from_db()
    assert secret_server.attributes["cpu_cores"] == 8 and secret_server.version == 1


def test_unknown_class_taken_identifier_and_bad_shapes_are_400(api_as, agent, secret_server):
    client = api_as(agent)
    unknown = client.post(CIS, {"name": "x", "ci_class": "spaceship"}, format="json")
    assert unknown.status_code == 400 and "spaceship" in unknown.data["errors"]["ci_class"][0]
    taken = client.post(
        CIS, {"name": "x", "ci_class": "server", "identifiers": {"hostname": "DB-01"}}, format="json"
    )
    assert taken.status_code == 400 and "identifiers.hostname" in taken.data["errors"]
    assert secret_server.number in taken.data["errors"]["identifiers.hostname"][0]
    not_an_object = client.post(CIS, {"name": "x", "ci_class": "server", "attributes": [1]}, format="json")
    assert not_an_object.status_code == 400 and "attributes" in not_an_object.data["errors"]


def test_stale_version_is_409(api_as, agent, manager, secret_server):
    url = f"{CIS}{secret_server.pk}/"
    assert api_as(manager).patch(url, {"name": "db-01a", "version": 1}, format="json").status_code == 200
    stale = api_as(agent).patch(url, {"name": "db-01b", "version": 1}, format="json")
    assert stale.status_code == 409 and stale.data["code"] == "stale_version"
    secret_server.refresh_from_db()
    assert secret_server.name == "db-01a"


def test_identifiers_are_replaced_on_update_and_bump_the_version(api_as, agent, secret_server):
    response = api_as(agent).patch(
        f"{CIS}{secret_server.pk}/", {"identifiers": {"fqdn": "db-01.example.com"}}, format="json"
    )
    assert response.status_code == 200, response.data
    assert response.data["identifiers"] == {"fqdn": "db-01.example.com"}
    assert response.data["version"] == 2


# ------------------------------------------------------------------------------ sensitive attributes


def test_sensitive_attribute_hidden_from_agent_in_list_detail_export_and_history(
    api_as, agent, secret_server
):
    client = api_as(agent)
    listed = client.get(CIS).data["results"][0]["attributes"]
    detail = client.get(f"{CIS}{secret_server.pk}/").data["attributes"]
    exported = client.get(f"{CIS}export/").data["items"][0]["attributes"]
    for attributes in (listed, detail, exported):
        assert attributes == {"os": "Debian", "cpu_cores": 8}
    history = client.get(f"{CIS}{secret_server.pk}/history/")
    assert SECRET not in str(history.data)
    assert history.data["results"][0]["changes"]["attributes"]["new"] == {"os": "Debian", "cpu_cores": 8}
    assert client.get(CIS, {"q": SECRET}).data["results"] == []


@pytest.mark.parametrize("role", [roles.ADMIN, roles.SECURITY])
def test_sensitive_attribute_visible_to_admin_and_security(api_as, secret_server, role):
    client = api_as(UserFactory(roles=[role]))
    assert client.get(CIS).data["results"][0]["attributes"]["admin_credentials_ref"] == SECRET
    assert client.get(f"{CIS}{secret_server.pk}/").data["attributes"]["admin_credentials_ref"] == SECRET
    assert client.get(f"{CIS}export/").data["items"][0]["attributes"]["admin_credentials_ref"] == SECRET
    history = client.get(f"{CIS}{secret_server.pk}/history/").data["results"]
    assert history[0]["changes"]["attributes"]["new"]["admin_credentials_ref"] == SECRET


def test_filtering_on_a_sensitive_attribute_is_refused_for_the_agent(
    api_as, agent, admin_user, secret_server
):
    refused = api_as(agent).get(CIS, {"attr": f"admin_credentials_ref={SECRET}"})
    assert refused.status_code == 400 and "attr" in refused.data["errors"]
    assert api_as(agent).get(f"{CIS}export/", {"attr": f"admin_credentials_ref={SECRET}"}).status_code == 400
    allowed = api_as(admin_user).get(CIS, {"attr": f"admin_credentials_ref={SECRET}"})
    assert [ci["id"] for ci in allowed.data["results"]] == [secret_server.pk]


def test_agent_update_neither_wipes_nor_overwrites_a_sensitive_value(
    api_as, agent, admin_user, secret_server
):
    client = api_as(agent)
    url = f"{CIS}{secret_server.pk}/"
    # The agent sends back what they see, plus a change: the hidden value survives.
    response = client.patch(url, {"attributes": {"os": "Debian", "cpu_cores": 16}}, format="json")
    assert response.status_code == 200, response.data
    assert "admin_credentials_ref" not in response.data["attributes"]
    secret_server.refresh_from_db()
    assert secret_server.attributes == {"os": "Debian", "cpu_cores": 16, "admin_credentials_ref": SECRET}
    # Sending the key, empty or with another value, changes nothing either.
    for value in ("", "vault:kv/mine"):
        attributes = {"os": "Debian", "cpu_cores": 16, "admin_credentials_ref": value}
        assert client.patch(url, {"attributes": attributes}, format="json").status_code == 200
        secret_server.refresh_from_db()
        assert secret_server.attributes["admin_credentials_ref"] == SECRET and secret_server.version == 2
    # An admin may change it.
    admin = api_as(admin_user).patch(
        url, {"attributes": {"admin_credentials_ref": "vault:kv/new"}}, format="json"
    )
    assert admin.status_code == 200 and admin.data["attributes"] == {"admin_credentials_ref": "vault:kv/new"}


def test_agent_may_set_a_sensitive_value_that_is_not_there_yet(api_as, agent):
    response = api_as(agent).post(
        CIS,
        {"name": "app-01", "ci_class": "server", "attributes": {"admin_credentials_ref": SECRET}},
        format="json",
    )
    assert response.status_code == 201 and response.data["attributes"] == {}
    assert ConfigurationItem.objects.get().attributes == {"admin_credentials_ref": SECRET}


# ------------------------------------------------------------------------------ impact analysis


@pytest.fixture
def estate(db):
    """Payroll (business service) depends on the payroll app; the app runs on vm-01, which runs on
    host-01; the HR portal depends on vm-01; and host-01 depends on the app: a cycle."""
    finance = OrganisationFactory(name="Finance")
    payroll = service_ci("Payroll", organisations=[finance])
    hr_portal = service_ci("HR portal")
    app = CIFactory(name="payroll-app", ci_class=CIClassFactory(slug="application"))
    vm = CIFactory(name="vm-01", ci_class=CIClassFactory(slug="virtual-machine"))
    host = CIFactory(name="host-01")
    depends, runs = RelationshipTypeFactory(slug="depends-on"), RelationshipTypeFactory(slug="runs-on")
    RelationshipFactory(source=payroll, target=app, type=depends)
    RelationshipFactory(source=app, target=vm, type=runs)
    RelationshipFactory(source=vm, target=host, type=runs)
    RelationshipFactory(source=hr_portal, target=vm, type=depends)
    RelationshipFactory(source=host, target=app, type=depends)
    return {"payroll": payroll, "hr": hr_portal, "app": app, "vm": vm, "host": host}


def _path(node):
    return [step["name"] for step in node["path"]]


def test_impact_of_a_host_reaches_the_services_with_paths_despite_a_cycle(api_as, agent, estate):
    response = api_as(agent).get(f"{CIS}{estate['host'].pk}/impact/", {"depth": 20})
    assert response.status_code == 200, response.data
    data = response.data
    assert data["ci"]["name"] == "host-01" and data["direction"] == "impacts" and data["truncated"] is False
    assert {item["name"]: item["depth"] for item in data["items"]} == {
        "vm-01": 1,
        "payroll-app": 2,
        "HR portal": 2,
        "Payroll": 3,
    }
    services = {service["name"]: service for service in data["services"]}
    assert set(services) == {"Payroll", "HR portal"}
    assert _path(services["Payroll"]) == ["host-01", "vm-01", "payroll-app", "Payroll"]
    assert _path(services["HR portal"]) == ["host-01", "vm-01", "HR portal"]
    assert services["Payroll"]["organisations"] == ["Finance"]
    assert len(services["Payroll"]["relationships"]) == 3


def test_what_a_service_depends_on(api_as, agent, estate):
    response = api_as(agent).get(f"{CIS}{estate['payroll'].pk}/impact/", {"direction": "depends_on"})
    assert response.status_code == 200
    items = {item["name"]: item for item in response.data["items"]}
    assert {name: item["depth"] for name, item in items.items()} == {
        "payroll-app": 1,
        "vm-01": 2,
        "host-01": 3,
    }
    assert _path(items["host-01"]) == ["Payroll", "payroll-app", "vm-01", "host-01"]
    assert response.data["services"] == []


def test_impact_depth_limit_and_bad_parameters(api_as, agent, estate):
    client = api_as(agent)
    shallow = client.get(f"{CIS}{estate['host'].pk}/impact/", {"depth": 1}).data
    assert [item["name"] for item in shallow["items"]] == ["vm-01"] and shallow["max_depth"] == 1
    too_deep = client.get(f"{CIS}{estate['host'].pk}/impact/", {"depth": 99})
    assert too_deep.status_code == 400 and "depth" in too_deep.data["errors"]
    sideways = client.get(f"{CIS}{estate['host'].pk}/impact/", {"direction": "sideways"})
    assert sideways.status_code == 400 and "direction" in sideways.data["errors"]


def test_relationships_of_a_ci(api_as, agent, estate):
    response = api_as(agent).get(f"{CIS}{estate['vm'].pk}/relationships/")
    assert response.status_code == 200
    pairs = {(r["source_name"], r["forward_label"], r["target_name"]) for r in response.data}
    assert pairs == {
        ("payroll-app", "runs on", "vm-01"),
        ("vm-01", "runs on", "host-01"),
        ("HR portal", "depends on", "vm-01"),
    }


# ------------------------------------------------------------------------------ relationships


def test_create_relationship_by_type_slug_or_id_and_refuse_duplicates(api_as, agent):
    app, server = CIFactory(name="app"), CIFactory(name="server")
    client = api_as(agent)
    created = client.post(
        RELATIONSHIPS, {"source": app.pk, "target": server.pk, "type": "runs-on"}, format="json"
    )
    assert created.status_code == 201, created.data
    assert created.data["type"] == "runs-on" and created.data["reverse_label"] == "hosts"
    assert created.data["source_number"] == app.number and created.data["target_name"] == "server"
    runs_on = RelationshipTypeFactory(slug="runs-on")
    duplicate = client.post(
        RELATIONSHIPS, {"source": app.pk, "target": server.pk, "type": runs_on.pk}, format="json"
    )
    assert duplicate.status_code == 400 and "already runs on" in duplicate.data["detail"]
    itself = client.post(
        RELATIONSHIPS, {"source": app.pk, "target": app.pk, "type": "runs-on"}, format="json"
    )
    assert itself.status_code == 400 and "target" in itself.data["errors"]
    unknown = client.post(
        RELATIONSHIPS, {"source": app.pk, "target": server.pk, "type": "likes"}, format="json"
    )
    assert unknown.status_code == 400 and "type" in unknown.data["errors"]
    assert Relationship.objects.count() == 1


def test_relationship_list_filters_by_either_end(api_as, agent, estate):
    response = api_as(agent).get(RELATIONSHIPS, {"ci": estate["app"].pk})
    assert response.status_code == 200
    assert len(response.data["results"]) == 3


def test_delete_relationship_keeps_history_on_both_cis(api_as, agent, security_user):
    relationship = RelationshipFactory()
    source, target = relationship.source, relationship.target
    url = f"{RELATIONSHIPS}{relationship.pk}/"
    assert api_as(security_user).delete(url).status_code == 403  # security reads, does not keep the CMDB
    assert api_as(agent).delete(url).status_code == 204
    assert not Relationship.objects.exists()
    for ci in (source, target):
        entry = api_as(agent).get(f"{CIS}{ci.pk}/history/").data["results"][0]
        assert (
            entry["reason"] == "Relationship removed"
            and target.name in entry["changes"]["relationship"]["old"]
        )


# ------------------------------------------------------------------------------ classes, verify, export


def test_classes_show_the_effective_schema(api_as, agent):
    client = api_as(agent)
    classes = {c["slug"]: c for c in client.get(CLASSES).data}
    server = classes["server"]
    assert server["parent"] == "hardware" and server["identifier_keys"] == ["hostname", "serial", "fqdn"]
    keys = {a["key"]: a for a in server["attributes"]}
    assert "manufacturer" in keys  # inherited from hardware
    assert keys["admin_credentials_ref"]["sensitive"] is True and keys["cpu_cores"]["type"] == "integer"
    assert classes["database"]["attributes"][0]["choices"][0] == "postgresql"
    assert client.get(f"{CLASSES}{server['id']}/").data["slug"] == "server"
    types = {t["slug"]: t for t in client.get(TYPES).data}
    assert types["runs-on"]["reverse_label"] == "hosts"


def test_verify_stamps_who_and_when(api_as, agent, secret_server):
    response = api_as(agent).post(
        f"{CIS}{secret_server.pk}/verify/", {"note": "Checked in the rack."}, format="json"
    )
    assert response.status_code == 200, response.data
    assert response.data["last_verified_by"] == agent.pk and response.data["last_verified_at"]
    timeline = api_as(agent).get(f"{CIS}{secret_server.pk}/timeline/").data["results"]
    assert "Checked in the rack." in timeline[0]["body"]


def test_export_filters_and_keeps_relationships_among_exported_cis(api_as, agent, estate):
    response = api_as(agent).get(f"{CIS}export/", {"is_service": "false"})
    assert response.status_code == 200
    data = response.data
    assert data["truncated"] is False and data["limit"] == views.EXPORT_LIMIT
    assert {item["name"] for item in data["items"]} == {"payroll-app", "vm-01", "host-01"}
    numbers = {estate[key].number: key for key in estate}
    assert {(numbers[r["source"]], r["type"], numbers[r["target"]]) for r in data["relationships"]} == {
        ("app", "runs-on", "vm"),
        ("vm", "runs-on", "host"),
        ("host", "depends-on", "app"),
    }


def test_export_says_when_it_is_truncated(api_as, agent, monkeypatch):
    monkeypatch.setattr(views, "EXPORT_LIMIT", 2)
    for _ in range(3):
        CIFactory()
    data = api_as(agent).get(f"{CIS}export/").data
    assert data["truncated"] is True and len(data["items"]) == 2


# ------------------------------------------------------------------------------ import and audit


FEED = {
    "source": "discovery",
    "items": [
        {
            "class": "server",
            "name": "srv-01",
            "identifiers": {"hostname": "srv-01"},
            "attributes": {"os": "Debian", "cpu_cores": 4},
        },
        {
            "class": "application",
            "name": "Billing",
            "identifiers": {"app_id": "billing"},
            "relationships": [{"type": "runs-on", "target": {"identifiers": {"hostname": "srv-01"}}}],
        },
    ],
}


def test_import_twice_is_idempotent(api_as, agent):
    client = api_as(agent)
    first = client.post(IMPORT, FEED, format="json")
    assert first.status_code == 200, first.data
    assert first.data["created"] == 2 and first.data["errors"] == 0
    versions = dict(ConfigurationItem.objects.values_list("number", "version"))
    assert Relationship.objects.get().type.slug == "runs-on"
    second = client.post(IMPORT, FEED, format="json")
    assert second.status_code == 200
    assert second.data["unchanged"] == 2 and second.data["created"] == second.data["updated"] == 0
    assert {row["status"] for row in second.data["rows"]} == {"unchanged"}
    assert dict(ConfigurationItem.objects.values_list("number", "version")) == versions
    assert Relationship.objects.count() == 1
    assert set(ConfigurationItem.objects.values_list("source", flat=True)) == {"discovery"}


def test_import_reports_rows_in_error_and_writes_nothing_for_them(api_as, agent):
    feed = {
        "source": "discovery",
        "items": [
            {"class": "server", "name": "ok", "identifiers": {"hostname": "ok"}},
            {
                "class": "server",
                "name": "bad",
                "identifiers": {"hostname": "bad"},
                "attributes": {"cpu_cores": "x"},
            },
        ],
    }
    response = api_as(agent).post(IMPORT, feed, format="json")
    assert response.status_code == 200
    rows = {row["row"]: row for row in response.data["rows"]}
    assert rows[1]["status"] == "created" and rows[2]["status"] == "error"
    assert "attributes.cpu_cores" in rows[2]["message"]
    assert list(ConfigurationItem.objects.values_list("name", flat=True)) == ["ok"]


def test_import_a_csv_file(api_as, agent):
    text = "class,name,id.hostname,attr.os,rel.runs-on\nserver,srv-02,srv-02,Debian,\n"
    upload = SimpleUploadedFile("feed.csv", text.encode(), content_type="text/csv")
    response = api_as(agent).post(IMPORT, {"source": "cmdb-sync", "file": upload}, format="multipart")
    assert response.status_code == 200, response.data
    assert response.data["created"] == 1
    assert ConfigurationItem.objects.get().attributes == {"os": "Debian"}


def test_malformed_imports_are_400_naming_the_field(api_as, agent):
    client = api_as(agent)
    no_source = client.post(IMPORT, {"items": []}, format="json")
    assert no_source.status_code == 400 and "source" in no_source.data["errors"]
    not_a_list = client.post(IMPORT, {"source": "x", "items": {"class": "server"}}, format="json")
    assert not_a_list.status_code == 400 and "items" in not_a_list.data["errors"]
    bad_mode = client.post(IMPORT, {"source": "x", "mode": "merge", "items": []}, format="json")
    assert bad_mode.status_code == 400 and "mode" in bad_mode.data["errors"]
    bad_json = SimpleUploadedFile("feed.json", b"[{oops", content_type="application/json")
    broken = client.post(IMPORT, {"source": "x", "file": bad_json}, format="multipart")
    assert broken.status_code == 400 and "file" in broken.data["errors"]
    bad_csv = SimpleUploadedFile("feed.csv", b"colour,shape\nred,round\n", content_type="text/csv")
    headless = client.post(IMPORT, {"source": "x", "file": bad_csv}, format="multipart")
    assert headless.status_code == 400 and "file" in headless.data["errors"]


def test_too_many_items_is_413(api_as, agent, monkeypatch):
    monkeypatch.setattr(views, "IMPORT_MAX_ITEMS", 1)
    response = api_as(agent).post(IMPORT, FEED, format="json")
    assert response.status_code == 413 and "limit is 1" in response.data["detail"]
    assert not ConfigurationItem.objects.exists()


def test_import_audit_mode_records_undocumented_items_for_the_audit(api_as, agent, security_user):
    feed = {"source": "scanner", "mode": "audit", "items": FEED["items"][:1]}
    response = api_as(agent).post(IMPORT, feed, format="json")
    assert response.status_code == 200 and response.data["discovered"] == 1
    assert not ConfigurationItem.objects.exists()
    audit = api_as(security_user).get(AUDIT, {"not_seen_days": 3})
    assert audit.status_code == 200
    assert audit.data["undocumented"][0]["identifiers"] == {"hostname": "srv-01"}
    assert audit.data["counts"]["undocumented"] == 1 and audit.data["not_seen_days"] == 3
    assert api_as(agent).get(AUDIT, {"verify_days": 0}).status_code == 400


def test_security_reads_but_cannot_import_or_write(api_as, security_user):
    client = api_as(security_user)
    assert client.get(CIS).status_code == 200
    assert client.post(IMPORT, FEED, format="json").status_code == 403
    assert client.post(CIS, {"name": "x", "ci_class": "server"}, format="json").status_code == 403


# ------------------------------------------------------------------------------ access and query counts


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", CIS),
        ("get", f"{CIS}export/"),
        ("get", RELATIONSHIPS),
        ("get", CLASSES),
        ("get", TYPES),
        ("get", AUDIT),
        ("post", IMPORT),
        ("post", CIS),
    ],
)
def test_end_users_are_refused(api_as, end_user, method, url):
    response = getattr(api_as(end_user), method)(url, {}, format="json")
    assert response.status_code == 403


def test_end_user_cannot_reach_a_ci_by_id(api_as, end_user, estate):
    client = api_as(end_user)
    assert client.get(f"{CIS}{estate['payroll'].pk}/").status_code == 403
    assert client.get(f"{CIS}{estate['payroll'].pk}/impact/").status_code == 403


def _grow(count: int) -> None:
    finance = OrganisationFactory()
    group = SupportGroupFactory()
    for n in range(count):
        CIFactory(
            identifiers={"hostname": f"grow-{n}-{ConfigurationItem.objects.count()}"},
            attributes={"os": "Debian", "admin_credentials_ref": SECRET},
            organisations=[finance],
            owner_group=group,
        )


# token + roles, the page, identifiers, organisations, the class schemas (2), and for a user who is not
# admin or security the two permission look-ups that decide on sensitive attributes.
PINNED = {roles.AGENT: 9, roles.ADMIN: 7}


@pytest.mark.parametrize("role", [roles.AGENT, roles.ADMIN])
def test_ci_list_query_count_is_pinned_and_constant(api_as, django_assert_num_queries, role):
    client = api_as(UserFactory(roles=[role]))
    _grow(2)
    with django_assert_num_queries(PINNED[role]):
        client.get(CIS)
    _grow(25)
    with django_assert_num_queries(PINNED[role]):
        response = client.get(CIS)
    assert len(response.data["results"]) == 27
    assert all("admin_credentials_ref" in ci["attributes"] for ci in response.data["results"]) is (
        role == roles.ADMIN
    )


@pytest.mark.parametrize("role", [roles.AGENT, roles.ADMIN])
def test_ci_detail_query_count_is_pinned(api_as, django_assert_num_queries, secret_server, role):
    client = api_as(UserFactory(roles=[role]))
    with django_assert_num_queries(PINNED[role]):
        assert client.get(f"{CIS}{secret_server.pk}/").status_code == 200


def test_export_query_count_is_constant(api_as, agent, django_assert_num_queries):
    client = api_as(agent)
    _grow(3)
    with django_assert_num_queries(PINNED[roles.AGENT] + 1):  # + the relationships among them
        client.get(f"{CIS}export/")
    _grow(20)
    with django_assert_num_queries(PINNED[roles.AGENT] + 1):
        assert len(client.get(f"{CIS}export/").data["items"]) == 23
