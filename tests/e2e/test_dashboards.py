"""Dashboards in the browser: a manager opens the SLA dashboard, filters by group, clicks the breached
count and lands on the incident list with the same number of incidents."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.dashboards.conftest import dataset, manager_user  # noqa: F401 - fixtures shared with tests/dashboards

pytestmark = pytest.mark.e2e


@pytest.fixture
def e2e_dataset(transactional_db, dataset):  # noqa: F811
    return dataset


def test_manager_filters_the_sla_dashboard_and_opens_the_breached_list(
    page,
    shot,
    login,
    e2e_dataset,
    manager_user,  # noqa: F811
):
    data = e2e_dataset
    login(manager_user)
    page.goto("/dashboards/sla/?since=2026-11-02&until=2026-11-08")
    expect(page.locator("h1")).to_contain_text("Dashboard: SLA")
    expect(page.locator("#chart-sla_attainment")).to_be_visible()
    shot("sla")

    page.locator("#id_group").select_option(label="Infra")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(rf"group={data.infra.pk}"))
    card = page.locator('[data-table="sla_attainment"]')
    card.get_by_role("button", name="Table").click()
    row = card.locator("tbody tr", has_text="Resolution")
    breached = row.locator("td").nth(2).locator("a")
    expect(breached).to_have_text("2")
    shot("filtered")

    breached.click()
    expect(page).to_have_url(re.compile(r"/incidents/\?.*sla=resolution_breached"))
    expect(page).to_have_url(re.compile(rf"group={data.infra.pk}"))
    rows = page.locator("#queue-results table tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("#queue-results table tbody")).to_contain_text(data.C.number)
    expect(page.locator("#queue-results table tbody")).to_contain_text(data.D.number)
    shot("breached-list")
