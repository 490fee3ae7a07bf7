"""CMDB pages: lists, the CI page (relationships, impact, verify), the CI form, the map, import, audit."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from configuration import service_map
from configuration.models import CIIdentifier, ConfigurationItem, DiscoveredItem, Relationship
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

SECRET = "vault:kv/servers/srv-db-01#root"


@pytest.fixture
def security_user(db):
    return UserFactory(username="security1", roles=[roles.SECURITY])


@pytest.fixture
def estate():
    """Payroll (service) depends on Payroll app, which runs on srv-app-01; the app uses a database."""
    service = service_ci("Payroll", organisations=[OrganisationFactory(name="Finance")])
    app = ci_via_service(ci_class="application", name="Payroll app", identifiers={"app_id": "payroll"})
    server = ci_via_service(
        name="srv-app-01",
        identifiers={"hostname": "srv-app-01", "serial": "SN-1"},
        attributes={"os": "Debian", "cpu_cores": 8, "admin_credentials_ref": SECRET},
    )
    database = ci_via_service(ci_class="database", name="payroll-db", attributes={"engine": "postgresql"})
    RelationshipFactory(source=service, target=app, type=RelationshipTypeFactory(slug="depends-on"))
    RelationshipFactory(source=app, target=server, type=RelationshipTypeFactory(slug="runs-on"))
    RelationshipFactory(source=app, target=database, type=RelationshipTypeFactory(slug="depends-on"))
    return {"service": service, "app": app, "server": server, "database": database}


def page_urls(estate):
    server = estate["server"].pk
    return [
        "/configuration/cis/",
        "/configuration/services/",
        f"/configuration/cis/{server}/",
        "/configuration/cis/new/",
        f"/configuration/cis/{server}/edit/",
        f"/configuration/cis/{server}/map/",
        f"/configuration/cis/{server}/map.json",
        "/configuration/cis/picker/?target=srv",
        "/configuration/import/",
        "/configuration/audit/",
    ]


# ------------------------------------------------------------------------------------ access


@pytest.mark.parametrize("role", ["agent", "manager", "admin_user", "security_user"])
def test_every_page_renders_for_staff_roles(request, client_as, estate, role):
    client = client_as(request.getfixturevalue(role))
    for url in page_urls(estate):
        response = client.get(url)
        assert response.status_code == 200, url


def test_every_page_is_forbidden_to_end_users(client_as, end_user, estate):
    client = client_as(end_user)
    for url in page_urls(estate):
        assert client.get(url).status_code == 403, url
    server = estate["server"]
    assert client.post(f"/configuration/cis/{server.pk}/", {"action": "verify"}).status_code == 403
    server.refresh_from_db()
    assert server.last_verified_at is None


def test_anonymous_visitors_are_sent_to_log_in(client, estate):
    response = client.get("/configuration/cis/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# ------------------------------------------------------------------------------------- lists


def test_ci_list_shows_columns_and_identifiers(client_as, agent, estate):
    response = client_as(agent).get("/configuration/cis/")
    html = response.content.decode()
    server = estate["server"]
    assert f'href="/configuration/cis/{server.pk}/"' in html
    assert "hostname=srv-app-01, serial=SN-1" in html
    assert '<span class="badge-status status-live">Live</span>' in html
    assert "Payroll app" in html and "payroll-db" in html


def test_ci_list_query_count_is_constant(client_as, agent, django_assert_max_num_queries):
    client = client_as(agent)
    group = SupportGroupFactory()
    CIFactory(identifiers={"hostname": "seed"}, owner_group=group)
    client.get("/configuration/cis/")
    with django_assert_max_num_queries(20) as few:
        client.get("/configuration/cis/")
    for index in range(30):
        CIFactory(
            identifiers={"hostname": f"h{index}", "serial": f"s{index}"}, owner_group=SupportGroupFactory()
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/configuration/cis/")
    assert len(response.context["rows"]) == 31


def test_service_list_query_count_is_constant(client_as, agent, django_assert_max_num_queries):
    client = client_as(agent)
    service_ci("First", organisations=[OrganisationFactory()])
    client.get("/configuration/services/")
    with django_assert_max_num_queries(20) as few:
        client.get("/configuration/services/")
    for index in range(20):
        service_ci(f"Service {index}", organisations=[OrganisationFactory(), OrganisationFactory()])
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/configuration/services/")
    assert len(response.context["rows"]) == 21


def test_ci_list_filters_by_attribute_text_and_class_with_subclasses(client_as, agent, estate):
    ci_via_service(name="srv-other", attributes={"os": "Windows", "cpu_cores": 8})
    CIFactory(name="switch-01", ci_class=CIClassFactory(slug="network-device"))
    client = client_as(agent)

    names = lambda response: {row["object"].name for row in response.context["rows"]}  # noqa: E731
    assert names(client.get("/configuration/cis/", {"attr": "os=Debian; cpu_cores=8"})) == {"srv-app-01"}
    assert names(client.get("/configuration/cis/", {"attr": "cpu_cores=8"})) == {"srv-app-01", "srv-other"}
    hardware = CIClassFactory(slug="hardware")
    assert names(client.get("/configuration/cis/", {"ci_class": hardware.pk})) == {
        "srv-app-01",
        "srv-other",
        "switch-01",
    }
    assert names(client.get("/configuration/cis/", {"identifier": "hostname=SRV-APP-01"})) == {"srv-app-01"}
    assert names(client.get("/configuration/cis/", {"status": "live", "q": "payroll"})) >= {"Payroll app"}


def test_unset_filters_read_any_and_a_status_can_be_chosen(client_as, agent, estate):
    client = client_as(agent)
    html = client.get("/configuration/cis/").content.decode()
    status = html[
        html.index('<select name="status"') : html.index("</select>", html.index('<select name="status"'))
    ]
    assert "multiple" not in status.split(">", 1)[0]
    assert '<option value="" selected>Any</option>' in status
    assert html.count('<option value="" selected>Any</option>') >= 5  # class, environment, criticality, ...
    ConfigurationItem.objects.filter(pk=estate["database"].pk).update(status="maintenance")
    response = client.get("/configuration/cis/", {"status": ["maintenance", "retired"], "ci_class": ""})
    assert [row["object"].name for row in response.context["rows"]] == ["payroll-db"]
    assert '<option value="maintenance" selected>In maintenance</option>' in response.content.decode()


def test_ci_list_refuses_malformed_and_sensitive_attribute_filters_for_agents(client_as, agent, estate):
    client = client_as(agent)
    bad = client.get("/configuration/cis/", {"attr": "nonsense"})
    assert bad.status_code == 200 and "is not key=value" in bad.content.decode()
    probe = client.get("/configuration/cis/", {"attr": f"admin_credentials_ref={SECRET}"})
    assert "sensitive attribute" in probe.content.decode()


def test_service_list_shows_only_services_with_their_users(client_as, agent, estate):
    response = client_as(agent).get("/configuration/services/")
    assert [row["object"].name for row in response.context["rows"]] == ["Payroll"]
    assert "Finance" in response.content.decode()
    assert "is_service" not in response.context["filterset"].form.fields


# ------------------------------------------------------------------------------------ detail


def test_detail_shows_attributes_relationships_and_impact(client_as, agent, estate):
    server = estate["server"]
    html = client_as(agent).get(f"/configuration/cis/{server.pk}/").content.decode()
    assert "Operating system" in html and "Debian" in html  # label from the schema
    assert "hostname=srv-app-01" in html
    app = estate["app"]
    assert f'<a href="/configuration/cis/{app.pk}/">Payroll app</a>' in html
    assert "runs on <strong>this CI</strong>" in html
    # Services affected if it fails, with the path and the service's organisations
    assert "Services affected if this fails" in html
    assert "srv-app-01 → Payroll app → Payroll" in html
    assert "Finance" in html
    assert "What it depends on" not in html


def test_service_detail_lists_what_it_depends_on(client_as, agent, estate):
    service = estate["service"]
    response = client_as(agent).get(f"/configuration/cis/{service.pk}/")
    html = response.content.decode()
    assert "What it depends on" in html
    assert {row["ci"].name for row in response.context["dependencies"]} == {
        "Payroll app",
        "srv-app-01",
        "payroll-db",
    }
    assert "Payroll → Payroll app → srv-app-01" in html


def test_detail_query_count_is_pinned(client_as, agent, estate, django_assert_max_num_queries):
    client = client_as(agent)
    server = estate["server"]
    url = f"/configuration/cis/{server.pk}/"
    client.post(url, {"action": "verify"})  # a timeline entry, so its prefetch runs in both counts
    with django_assert_max_num_queries(40) as few:
        client.get(url)
    baseline = len(few.captured_queries)  # read now: the next request clears the query log
    # More relationships, services and history must not cost more queries.
    runs_on = RelationshipTypeFactory(slug="runs-on")
    depends = RelationshipTypeFactory(slug="depends-on")
    for index in range(8):
        app = CIFactory(name=f"app-{index}", ci_class=CIClassFactory(slug="application"))
        RelationshipFactory(source=app, target=server, type=runs_on)
        service = service_ci(f"Service {index}", organisations=[OrganisationFactory()])
        RelationshipFactory(source=service, target=app, type=depends)
    client.post(url, {"action": "verify"})
    client.post(url, {"action": "timeline", "kind": "comment", "body": "Checked"})
    with django_assert_max_num_queries(baseline):
        response = client.get(url)
    assert len(response.context["affected_services"]) == 9


def test_sensitive_attribute_is_hidden_from_agents_but_shown_to_admins(client_as, agent, admin_user, estate):
    server = estate["server"]
    url = f"/configuration/cis/{server.pk}/"
    agent_html = client_as(agent).get(url).content.decode()
    assert SECRET not in agent_html  # neither in the attributes nor in the history
    assert "Admin credentials reference" not in agent_html
    assert SECRET not in client_as(agent).get(f"{url}edit/").content.decode()
    admin_html = client_as(admin_user).get(url).content.decode()
    assert SECRET in admin_html and "Admin credentials reference" in admin_html


def test_security_team_sees_sensitive_attributes(client_as, security_user, estate):
    html = client_as(security_user).get(f"/configuration/cis/{estate['server'].pk}/").content.decode()
    assert SECRET in html


def test_verify_button_stamps_who_and_when(client_as, agent, estate):
    server = estate["server"]
    client = client_as(agent)
    response = client.post(f"/configuration/cis/{server.pk}/", {"action": "verify"})
    assert response.status_code == 302 and response["Location"].endswith("#verification")
    server.refresh_from_db()
    assert server.last_verified_by == agent and server.last_verified_at is not None
    html = client.get(f"/configuration/cis/{server.pk}/").content.decode()
    assert f"by {agent.get_full_name()}" in html
    assert "Record verified against the live configuration." in html


def test_relationship_added_by_number_and_by_name_and_removed(client_as, agent, estate):
    server, database = estate["server"], estate["database"]
    client = client_as(agent)
    backup = CIFactory(name="backup-vault", ci_class=CIClassFactory(slug="storage"))
    url = f"/configuration/cis/{server.pk}/"
    hosts = RelationshipTypeFactory(slug="runs-on")

    response = client.post(
        url,
        {
            "action": "relate",
            "type": RelationshipTypeFactory(slug="backed-up-by").pk,
            "direction": "outgoing",
            "target": backup.number,
        },
    )
    assert response.status_code == 302
    assert Relationship.objects.filter(source=server, target=backup, type__slug="backed-up-by").exists()

    response = client.post(
        url, {"action": "relate", "type": hosts.pk, "direction": "incoming", "target": "PAYROLL-DB"}
    )
    assert response.status_code == 302
    relationship = Relationship.objects.get(source=database, target=server, type=hosts)
    html = client.get(url).content.decode()
    assert "<strong>This CI</strong> backed up by" in html
    assert "payroll-db</a>" in html

    response = client.post(url, {"action": "unrelate", "relationship": relationship.pk})
    assert response.status_code == 302
    assert not Relationship.objects.filter(pk=relationship.pk).exists()
    history = client.get(url).content.decode()
    assert "Relationship removed" in history


def test_relationship_errors_are_shown_on_the_form(client_as, agent, estate):
    server, app = estate["server"], estate["app"]
    client = client_as(agent)
    url = f"/configuration/cis/{server.pk}/"
    runs_on = RelationshipTypeFactory(slug="runs-on")

    unknown = client.post(
        url, {"action": "relate", "type": runs_on.pk, "direction": "incoming", "target": "nope"}
    )
    assert unknown.status_code == 200 and "No CI has the number or name" in unknown.content.decode()

    duplicate = client.post(
        url, {"action": "relate", "type": runs_on.pk, "direction": "incoming", "target": app.number}
    )
    assert duplicate.status_code == 200
    assert "already runs on" in duplicate.content.decode()

    itself = client.post(
        url, {"action": "relate", "type": runs_on.pk, "direction": "outgoing", "target": server.number}
    )
    assert "cannot be related to itself" in itself.content.decode()

    CIFactory(name="twin")
    CIFactory(name="twin")
    twins = client.post(
        url, {"action": "relate", "type": runs_on.pk, "direction": "outgoing", "target": "twin"}
    )
    assert "give the number" in twins.content.decode()


def test_removing_a_relationship_of_another_ci_is_404(client_as, agent, estate):
    other = RelationshipFactory()
    response = client_as(agent).post(
        f"/configuration/cis/{estate['server'].pk}/", {"action": "unrelate", "relationship": other.pk}
    )
    assert response.status_code == 404
    assert Relationship.objects.filter(pk=other.pk).exists()
    garbage = client_as(agent).post(
        f"/configuration/cis/{estate['server'].pk}/", {"action": "unrelate", "relationship": "1 OR 1=1"}
    )
    assert garbage.status_code == 404


def test_picker_offers_cis_by_number_and_name(client_as, agent, estate):
    server = estate["server"]
    client = client_as(agent)
    by_name = client.get("/configuration/cis/picker/", {"target": "payroll", "exclude": estate["app"].pk})
    html = by_name.content.decode()
    assert "Payroll" in html and "payroll-db" in html and "Payroll app" not in html
    by_number = client.get("/configuration/cis/picker/", {"target": server.number})
    assert f'<option value="{server.number}">' in by_number.content.decode()


def test_timeline_entry_on_a_ci_page(client_as, agent, estate):
    server = estate["server"]
    client = client_as(agent)
    response = client.post(
        f"/configuration/cis/{server.pk}/",
        {"action": "timeline", "kind": "work_note", "body": "Disk swapped"},
    )
    assert response.status_code == 302
    assert "Disk swapped" in client.get(f"/configuration/cis/{server.pk}/").content.decode()


# -------------------------------------------------------------------------------------- form


def form_data(ci_class, **extra):
    data = {
        "ci_class": ci_class.pk,
        "fields_for": ci_class.pk,
        "name": "srv-new-01",
        "status": "live",
        "environment": "production",
        "criticality": "3",
        "owner_group": "",
        "location": "",
        "description": "",
        "identifiers": "",
    }
    data.update(extra)
    return data


def test_create_form_builds_fields_from_the_class_schema(client_as, agent):
    server = CIClassFactory(slug="server")
    client = client_as(agent)
    response = client.get("/configuration/cis/new/", {"ci_class": server.pk})
    form = response.context["form"]
    assert form.fields["attributes.cpu_cores"].widget.input_type == "number"
    assert form.fields["attributes.ip_address"].widget.input_type == "text"
    assert "identifiers.hostname" in form.fields and "identifiers.serial" in form.fields
    assert "attributes.admin_credentials_ref" not in form.fields  # sensitive: agents do not see it
    database = client.get("/configuration/cis/new/", {"ci_class": "database"}).context["form"]
    assert database.fields["attributes.engine"].required
    assert ("postgresql", "postgresql") in database.fields["attributes.engine"].choices
    assert 'for="id_attributes.engine">Engine <span class="text-danger" aria-hidden="true">*</span>' in (
        client.get("/configuration/cis/new/", {"ci_class": "database"}).content.decode()
    )


def test_class_change_refreshes_the_attribute_fields_with_htmx(client_as, agent):
    database = CIClassFactory(slug="database")
    response = client_as(agent).get(
        "/configuration/cis/new/",
        {"ci_class": database.pk, "attributes.version": "16"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="ci-class-fields">')
    assert 'name="attributes.engine"' in html and 'value="16"' in html
    assert "<html" not in html


def test_create_a_ci_through_the_form(client_as, agent):
    server = CIClassFactory(slug="server")
    organisation = OrganisationFactory()
    response = client_as(agent).post(
        "/configuration/cis/new/",
        form_data(
            server,
            **{
                "attributes.cpu_cores": "16",
                "attributes.os": "Debian",
                "identifiers.hostname": "SRV-NEW-01",
                "identifiers": "asset_tag=A-17; rack=R4",
                "organisations": [organisation.pk],
            },
        ),
    )
    assert response.status_code == 302, response.context["form"].errors
    ci = ConfigurationItem.objects.get(name="srv-new-01")
    assert response["Location"] == f"/configuration/cis/{ci.pk}/"
    assert ci.attributes == {"cpu_cores": 16, "os": "Debian"}
    assert dict(ci.identifiers.values_list("scheme", "value")) == {
        "hostname": "srv-new-01",
        "asset_tag": "A-17",
        "rack": "R4",
    }
    assert list(ci.organisations.all()) == [organisation]


def test_bad_attribute_values_are_shown_on_their_fields(client_as, agent):
    server = CIClassFactory(slug="server")
    response = client_as(agent).post(
        "/configuration/cis/new/",
        form_data(server, **{"attributes.cpu_cores": "many", "attributes.ip_address": "999.1.1.1"}),
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "whole number" in errors["attributes.cpu_cores"][0]
    assert "IPv4 or IPv6" in errors["attributes.ip_address"][0]
    html = response.content.decode()
    assert 'name="attributes.cpu_cores" value="many" step="1" class="form-control is-invalid"' in html
    assert not ConfigurationItem.objects.filter(name="srv-new-01").exists()


def test_missing_required_attribute_and_taken_identifier_are_shown(client_as, agent):
    CIFactory(identifiers={"hostname": "taken"})
    database = CIClassFactory(slug="database")
    response = client_as(agent).post(
        "/configuration/cis/new/", form_data(database, **{"identifiers": "db_id=x"})
    )
    assert "This field is required." in response.context["form"].errors["attributes.engine"]
    server = CIClassFactory(slug="server")
    taken = client_as(agent).post(
        "/configuration/cis/new/", form_data(server, **{"identifiers.hostname": "taken"})
    )
    assert "already identifies" in taken.context["form"].errors["identifiers.hostname"][0]
    malformed = client_as(agent).post("/configuration/cis/new/", form_data(server, identifiers="oops"))
    assert "is not scheme=value" in malformed.context["form"].errors["identifiers"][0]


def test_a_class_switch_without_javascript_asks_to_check_the_new_attributes(client_as, agent):
    server, database = CIClassFactory(slug="server"), CIClassFactory(slug="database")
    data = form_data(database, fields_for=server.pk, **{"attributes.engine": "postgresql"})
    response = client_as(agent).post("/configuration/cis/new/", data)
    assert response.status_code == 200
    assert "The class changed" in response.content.decode()
    assert f'name="fields_for" value="{database.pk}"' in response.content.decode()


def test_edit_keeps_sensitive_values_the_agent_cannot_see(client_as, agent, estate):
    server = estate["server"]
    response = client_as(agent).post(
        f"/configuration/cis/{server.pk}/edit/",
        form_data(
            server.ci_class,
            name="srv-app-01",
            version=server.version,
            **{
                "attributes.os": "Debian 12",
                "attributes.cpu_cores": "8",
                "identifiers.hostname": "srv-app-01",
                "identifiers.serial": "SN-1",
            },
        ),
    )
    assert response.status_code == 302, response.context["form"].errors
    server.refresh_from_db()
    assert server.attributes == {"os": "Debian 12", "cpu_cores": 8, "admin_credentials_ref": SECRET}
    assert server.version == 2


def test_edit_removes_an_identifier_left_blank(client_as, admin_user, estate):
    server = estate["server"]
    response = client_as(admin_user).post(
        f"/configuration/cis/{server.pk}/edit/",
        form_data(
            server.ci_class,
            name="srv-app-01",
            version=server.version,
            **{"identifiers.hostname": "srv-app-01", "attributes.os": "Debian"},
        ),
    )
    assert response.status_code == 302, response.context["form"].errors
    assert set(CIIdentifier.objects.filter(ci=server).values_list("scheme", flat=True)) == {"hostname"}
    server.refresh_from_db()
    assert "admin_credentials_ref" not in server.attributes  # the admin saw it and left it out


def test_stale_edit_shows_the_conflict(client_as, agent, estate):
    server = estate["server"]
    ConfigurationItem.objects.filter(pk=server.pk).update(version=5)
    response = client_as(agent).post(
        f"/configuration/cis/{server.pk}/edit/",
        form_data(server.ci_class, name="renamed", version=1, **{"identifiers.hostname": "srv-app-01"}),
    )
    assert response.status_code == 200
    assert "changed by someone else" in response.content.decode()
    server.refresh_from_db()
    assert server.name == "srv-app-01"


def test_edit_form_starts_with_the_current_values(client_as, agent, estate):
    server = estate["server"]
    form = client_as(agent).get(f"/configuration/cis/{server.pk}/edit/").context["form"]
    assert form["attributes.cpu_cores"].value() == "8"
    assert form["identifiers.hostname"].value() == "srv-app-01"
    assert form["version"].value() == server.version


# --------------------------------------------------------------------------------------- map


def test_map_json_has_both_directions_and_the_edges_between(client_as, agent, estate):
    app = estate["app"]
    document = CIFactory(name="Runbook", ci_class=CIClassFactory(slug="document"))
    RelationshipFactory(source=app, target=document, type=RelationshipTypeFactory(slug="documented-by"))
    data = client_as(agent).get(f"/configuration/cis/{app.pk}/map.json").json()
    names = {node["name"] for node in data["nodes"]}
    assert names == {"Payroll app", "Payroll", "srv-app-01", "payroll-db", "Runbook"}
    centre = next(node for node in data["nodes"] if node["centre"])
    assert centre["id"] == app.pk and centre["url"] == f"/configuration/cis/{app.pk}/"
    service = next(node for node in data["nodes"] if node["name"] == "Payroll")
    assert service["is_service"] and service["class_slug"] == "business-service"
    assert {(e["source"], e["target"], e["label"]) for e in data["edges"]} >= {
        (estate["service"].pk, app.pk, "depends on"),
        (app.pk, estate["server"].pk, "runs on"),
        (app.pk, document.pk, "documented by"),
    }
    assert data["capped"] is False


def test_map_json_depth_and_cap(client_as, agent, estate, monkeypatch):
    client = client_as(agent)
    server = estate["server"]
    one_step = client.get(f"/configuration/cis/{server.pk}/map.json", {"depth": 1}).json()
    assert {node["name"] for node in one_step["nodes"]} == {"srv-app-01", "Payroll app"}
    monkeypatch.setattr(service_map, "MAP_MAX_NODES", 2)
    capped = client.get(f"/configuration/cis/{server.pk}/map.json").json()
    assert capped["capped"] is True and len(capped["nodes"]) == 2
    page = client.get(f"/configuration/cis/{server.pk}/map/")
    assert "only the nearest 2 CIs" in page.content.decode()


def test_map_page_lists_nodes_and_edges_and_loads_no_cdn(client_as, agent, estate):
    service = estate["service"]
    html = client_as(agent).get(f"/configuration/cis/{service.pk}/map/").content.decode()
    assert 'id="ci-map"' in html and f'data-url="/configuration/cis/{service.pk}/map.json?depth=3"' in html
    assert "/static/vendor/cytoscape/cytoscape.min.js" in html
    assert "— depends on —" in html and "— runs on —" in html
    assert "Business service (service)" in html  # legend
    assert "https://" not in html.split("<main", 1)[1]


# ------------------------------------------------------------------------------------ import

CSV_FEED = """class,name,status,id.hostname,attr.os,attr.cpu_cores,rel.runs-on
server,srv-import-01,live,srv-import-01,Debian 12,8,
application,Imported app,live,,,,hostname=srv-import-01
server,srv-bad,live,srv-bad,Debian,lots,
"""


def test_import_csv_upload_reports_every_row(client_as, agent):
    upload = SimpleUploadedFile("feed.csv", CSV_FEED.encode(), content_type="text/csv")
    response = client_as(agent).post(
        "/configuration/import/", {"source": "discovery", "mode": "upsert", "file": upload}
    )
    assert response.status_code == 200
    report = response.context["report"]
    assert (report["created"], report["errors"]) == (1, 2)  # the app needs app_id; srv-bad has a bad value
    html = response.content.decode()
    server = ConfigurationItem.objects.get(name="srv-import-01")
    assert f'<a href="/configuration/cis/{server.pk}/">{server.number}</a>' in html
    assert "CPU cores must be a whole number" in html
    assert "1 created" in html and "2 in error" in html
    assert server.source == "discovery"


def test_import_pasted_json_creates_relationships_and_is_idempotent(client_as, agent):
    items = [
        {"class": "server", "name": "srv-j-01", "identifiers": {"hostname": "srv-j-01"}},
        {
            "class": "application",
            "name": "J app",
            "identifiers": {"app_id": "japp"},
            "relationships": [{"type": "runs-on", "target": "hostname=srv-j-01"}],
        },
    ]
    client = client_as(agent)
    first = client.post(
        "/configuration/import/", {"source": "iac", "mode": "upsert", "text": json.dumps(items)}
    )
    assert first.context["report"]["created"] == 2
    assert Relationship.objects.filter(source__name="J app", target__name="srv-j-01").exists()
    again = client.post(
        "/configuration/import/", {"source": "iac", "mode": "upsert", "text": json.dumps(items)}
    )
    assert again.context["report"]["unchanged"] == 2 and again.context["report"]["created"] == 0


def test_import_audit_mode_records_undocumented_items(client_as, agent):
    items = [{"class": "server", "name": "ghost", "identifiers": {"hostname": "ghost-01"}}]
    response = client_as(agent).post(
        "/configuration/import/", {"source": "scanner", "mode": "audit", "text": json.dumps(items)}
    )
    assert response.context["report"]["discovered"] == 1
    assert not ConfigurationItem.objects.filter(name="ghost").exists()
    assert DiscoveredItem.objects.filter(source="scanner").exists()
    audit_page = client_as(agent).get("/configuration/audit/").content.decode()
    assert "hostname=ghost-01" in audit_page


def test_import_rejects_a_malformed_payload_with_a_message(client_as, agent):
    client = client_as(agent)
    broken = client.post("/configuration/import/", {"source": "iac", "mode": "upsert", "text": "[{oops"})
    assert broken.status_code == 400 and "Not valid JSON" in broken.content.decode()
    nothing = client.post("/configuration/import/", {"source": "iac", "mode": "upsert"})
    assert nothing.status_code == 400 and "Choose a file or paste the items" in nothing.content.decode()
    bad_csv = client.post(
        "/configuration/import/", {"source": "iac", "mode": "upsert", "text": "colour,size\nred,1"}
    )
    assert bad_csv.status_code == 400 and "class and name" in bad_csv.content.decode()


def test_import_page_explains_the_csv_columns(client_as, agent):
    html = client_as(agent).get("/configuration/import/").content.decode()
    for column in ("id.&lt;scheme&gt;", "attr.&lt;key&gt;", "rel.&lt;type&gt;", "owner_group", "criticality"):
        assert column in html
    assert "<code>runs-on</code> (runs on)" in html


@pytest.mark.parametrize("example", ["csv-example", "json-example"])
def test_the_examples_on_the_import_page_import_cleanly(client_as, agent, example):
    import html as html_lib

    client = client_as(agent)
    page = client.get("/configuration/import/").content.decode()
    start = page.index(f'id="{example}"><code>') + len(f'id="{example}"><code>')
    text = html_lib.unescape(page[start : page.index("</code>", start)])
    report = client.post("/configuration/import/", {"source": "example", "mode": "upsert", "text": text})
    assert report.context["report"]["created"] == 2, report.context["report"]["rows"]
    assert Relationship.objects.filter(source__name="Payroll web", target__name="srv-web-01").exists()


# ------------------------------------------------------------------------------------- audit


def test_audit_page_lists_cis_to_check_with_thresholds(client_as, agent, estate):
    from datetime import timedelta

    from django.utils import timezone

    stale = CIFactory(name="stale-host", source="discovery", last_seen_at=timezone.now() - timedelta(days=3))
    old = CIFactory(name="old-check", last_verified_at=timezone.now() - timedelta(days=40))
    client = client_as(agent)
    default = client.get("/configuration/audit/")
    html = default.content.decode()
    assert f'href="/configuration/cis/{estate["server"].pk}/"' in html  # never verified
    assert "stale-host" not in _section(html, "not-seen")
    assert "old-check" not in _section(html, "verification-overdue")
    tight = client.get("/configuration/audit/", {"not_seen_days": 2, "verify_days": 30}).content.decode()
    assert stale.number in _section(tight, "not-seen")
    assert old.number in _section(tight, "verification-overdue")
    assert "Not seen by their feed for 2 days" in tight
    invalid = client.get("/configuration/audit/", {"not_seen_days": "x"})
    assert invalid.status_code == 200 and "Enter a whole number" in invalid.content.decode()


def _section(html: str, anchor: str) -> str:
    start = html.index(f'<section class="card mb-3" id="{anchor}"')
    return html[start : html.index("</section>", start)]


def test_edit_keeps_a_deactivated_owner_group(client_as, agent):
    group = SupportGroupFactory(name="Old team", is_active=False)
    server = ci_via_service(name="srv-legacy", identifiers={"hostname": "srv-legacy"}, owner_group=group)
    response = client_as(agent).post(
        f"/configuration/cis/{server.pk}/edit/",
        form_data(
            server.ci_class,
            name="srv-legacy-renamed",
            owner_group=group.pk,
            version=server.version,
            **{"identifiers.hostname": "srv-legacy"},
        ),
    )
    assert response.status_code == 302, response.context["form"].errors
    server.refresh_from_db()
    assert server.name == "srv-legacy-renamed" and server.owner_group == group
