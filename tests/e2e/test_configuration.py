"""The CMDB in the browser: a service's map (Cytoscape) and clicking through to a CI, the CI form
with class-driven attribute fields (htmx), and relationships and verification on a CI page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from configuration.defaults import load_defaults
from tests.configuration.factories import (
    RelationshipFactory,
    RelationshipTypeFactory,
    ci_via_service,
    service_ci,
)
from tests.factories import OrganisationFactory

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def cmdb_defaults(transactional_db):
    """The live server's tests flush the database, data migrations included: restore the default
    classes (with their attribute schemas) and relationship types."""
    load_defaults()


@pytest.fixture
def payroll(cmdb_defaults):
    """Payroll (a business service) -> Payroll app -> srv-app-01 and payroll-db; a backup vault."""
    service = service_ci("Payroll", organisations=[OrganisationFactory(name="Finance")])
    app = ci_via_service(ci_class="application", name="Payroll app", identifiers={"app_id": "payroll"})
    server = ci_via_service(
        name="srv-app-01", identifiers={"hostname": "srv-app-01"}, attributes={"os": "Debian", "cpu_cores": 8}
    )
    database = ci_via_service(ci_class="database", name="payroll-db", attributes={"engine": "postgresql"})
    vault = ci_via_service(ci_class="storage", name="backup-vault", identifiers={"serial": "BV-1"})
    depends = RelationshipTypeFactory(slug="depends-on")
    RelationshipFactory(source=service, target=app, type=depends)
    RelationshipFactory(source=app, target=server, type=RelationshipTypeFactory(slug="runs-on"))
    RelationshipFactory(source=app, target=database, type=depends)
    return {"service": service, "app": app, "server": server, "database": database, "vault": vault}


def wait_for_map(page, nodes: int):
    expect(page.locator("#ci-map canvas").first).to_be_attached()
    expect(page.locator("#ci-map")).to_have_attribute("data-ready", "true")
    expect(page.locator("#map-nodes tbody tr")).to_have_count(nodes)
    assert page.evaluate("window.itsmMap.nodes().length") == nodes


def test_agent_opens_a_service_map_and_clicks_through_to_a_ci(page, shot, login, agent, payroll):
    service, server, database = payroll["service"], payroll["server"], payroll["database"]
    login(agent)
    page.goto("/configuration/services/")
    page.get_by_role("link", name=service.number).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Payroll")
    expect(page.locator("#dependencies")).to_contain_text("srv-app-01")
    page.get_by_role("link", name="Service map").click()

    expect(page).to_have_url(re.compile(rf"/configuration/cis/{service.pk}/map/$"))
    wait_for_map(page, nodes=4)
    edges = page.locator("#map-edges tbody")
    runs_on = edges.locator("tr").filter(has_text="— runs on —")
    expect(runs_on).to_contain_text(re.compile(r"Payroll app.*— runs on —.*srv-app-01", re.S))
    assert page.evaluate("window.itsmMap.edges().length") == 3
    legend = page.get_by_label("Legend")
    expect(legend).to_contain_text("Business service (service)")
    expect(legend).to_contain_text("Database")
    # The graph was laid out on the canvas: every node has a position inside the viewport.
    extent = page.evaluate(
        "(() => { const b = window.itsmMap.elements().renderedBoundingBox(); return [b.w, b.h]; })()"
    )
    assert extent[0] > 50 and extent[1] > 50
    shot("map")

    # Clicking a node on the canvas opens its CI: a real mouse click where Cytoscape drew it.
    position = page.evaluate(f"window.itsmMap.getElementById('{server.pk}').renderedPosition()")
    box = page.locator("#ci-map").bounding_box()
    page.mouse.click(box["x"] + position["x"], box["y"] + position["y"])
    expect(page).to_have_url(re.compile(rf"/configuration/cis/{server.pk}/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("srv-app-01")
    expect(page.locator("#impact")).to_contain_text("srv-app-01 → Payroll app → Payroll")
    shot("server")

    # The accessible list leads to the same pages.
    page.go_back()
    wait_for_map(page, nodes=4)
    page.locator("#map-nodes").get_by_role("link", name="payroll-db").click()
    expect(page).to_have_url(re.compile(rf"/configuration/cis/{database.pk}/$"))
    expect(page.locator("#attributes")).to_contain_text("postgresql")


def test_agent_creates_a_server_with_the_fields_of_its_class(page, shot, login, agent):
    login(agent)
    page.goto("/configuration/cis/new/")
    expect(page.locator("#ci-attributes")).to_contain_text("Choose a class")
    page.get_by_label("Class").select_option(label="Server")
    # htmx swaps in the server's identifier and attribute fields
    expect(page.get_by_label("CPU cores")).to_be_visible()
    expect(page.get_by_label("Hostname")).to_be_visible()
    page.locator("#id_name").fill("srv-web-07")
    page.get_by_label("Hostname").fill("srv-web-07")
    page.get_by_label("Operating system").fill("Debian 12")
    page.get_by_label("CPU cores").fill("4")
    page.get_by_label("IP address").fill("300.1.2.3")
    page.get_by_role("button", name="Save").click()

    expect(page.locator("#id_attributes\\.ip_address")).to_have_class(re.compile("is-invalid"))
    expect(page.get_by_text("IP address must be an IPv4 or IPv6 address.")).to_be_visible()
    shot("error")

    page.get_by_label("IP address").fill("192.0.2.7")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("srv-web-07")
    attributes = page.locator("#attributes")
    expect(attributes).to_contain_text("Operating system")
    expect(attributes).to_contain_text("192.0.2.7")
    expect(page.locator("#ci-identifiers")).to_contain_text("hostname=srv-web-07")
    shot("created")


def test_agent_relates_and_verifies_a_ci(page, shot, login, agent, payroll):
    server, vault = payroll["server"], payroll["vault"]
    login(agent)
    page.goto(f"/configuration/cis/{server.pk}/")
    expect(page.locator("#last-verified")).to_have_text("Never")

    form = page.get_by_role("form", name="Add a relationship")
    form.get_by_label("Relationship").select_option(label="backed up by")
    target = form.get_by_label("Other CI")
    target.fill("backup")
    # the picker offers matching CIs in the input's datalist
    expect(page.locator("#ci-target-options option")).to_have_count(1)
    expect(page.locator("#ci-target-options option")).to_have_attribute("value", vault.number)
    target.fill(vault.number)
    form.get_by_role("button", name="Add relationship").click()

    relationships = page.locator("#relationships")
    expect(relationships).to_contain_text("This CI backed up by backup-vault")
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("#last-verified")).to_contain_text(f"by {agent.get_full_name()}")
    page.evaluate("window.scrollTo(0, 0)")
    shot("verified")

    page.get_by_role("button", name="Remove: this CI backed up by backup-vault").click()
    expect(relationships).not_to_contain_text("backup-vault")


CSV_FEED = """class,name,status,id.hostname,attr.os,attr.cpu_cores,rel.runs-on
server,srv-feed-01,live,srv-feed-01,Debian 12,8,
server,srv-feed-02,live,srv-feed-02,Windows Server 2022,16,
application,Feed app,live,,,,hostname=srv-feed-01
server,srv-feed-03,live,srv-feed-03,Debian 12,many,
"""


def test_agent_imports_a_csv_feed_and_filters_by_attribute(page, shot, login, agent, tmp_path):
    feed = tmp_path / "discovery.csv"
    feed.write_text(CSV_FEED)
    login(agent)
    page.goto("/configuration/import/")
    expect(page.locator("#csv-columns")).to_contain_text("rel.<type>")
    page.get_by_label("Feed / source name").fill("discovery")
    page.get_by_label("CSV or JSON file").set_input_files(str(feed))
    page.get_by_role("button", name="Import").click()

    report = page.locator("#import-report")
    expect(report.get_by_label("Totals")).to_contain_text("2 created")
    expect(report.get_by_label("Totals")).to_contain_text("2 in error")
    rows = page.locator("#import-rows tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.nth(2)).to_contain_text("app_id")  # an application is recognised by its app_id
    expect(rows.nth(3)).to_contain_text("CPU cores must be a whole number")
    shot("report")

    rows.nth(0).get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("srv-feed-01")
    expect(page.locator(".itsm-fields").first).to_contain_text("discovery")

    page.goto("/configuration/cis/")
    page.get_by_label("Attributes").fill("os=Debian 12; cpu_cores=8")
    page.get_by_role("button", name="Filter").click()
    table = page.locator("#ci-table tbody")
    expect(table.locator("tr")).to_have_count(1)
    expect(table).to_contain_text("srv-feed-01")
    expect(table).to_contain_text("hostname=srv-feed-01")
    shot("filtered-list")
