"""Known-error matching quality on a labelled set (tests/data/known_error_matching.json): 20 known
errors, 56 incident texts that should match one of them and 5 that should match none.

precision@3 here is the share of the incidents with an expected known error whose known error is
among the top three suggestions (each incident has exactly one right answer). Required: >= 0.8.
"""

import json
from pathlib import Path

import pytest

from configuration.models import CIClass
from itsm import roles
from problems import queries, services
from tests.configuration.factories import CIFactory
from tests.factories import UserFactory
from tests.incidents.factories import CategoryFactory

pytestmark = pytest.mark.django_db
DATA = Path(__file__).resolve().parent.parent / "data" / "known_error_matching.json"
REQUIRED = 0.8


def _load():
    data = json.loads(DATA.read_text())
    actor = UserFactory(roles=[roles.AGENT])
    server = CIClass.objects.get(slug="server")
    cis, categories, keys = {}, {}, {}

    def ci(name):
        if name not in cis:
            cis[name] = CIFactory(name=name, ci_class=server)
        return cis[name]

    def category(name):
        if name not in categories:
            categories[name] = CategoryFactory(name=name)
        return categories[name]

    for row in data["known_errors"]:
        known_error = services.known_error_create(
            actor=actor,
            fields={
                "title": row["title"],
                "symptoms": row["symptoms"],
                "root_cause": row["root_cause"],
                "category": category(row["category"]),
                "cis": [ci(name) for name in row["cis"]],
            },
            workaround={"title": "Workaround", "symptoms": row["symptoms"], "steps": "See the known error."},
        )
        keys[known_error.pk] = row["key"]
    return data, actor, cis, categories, keys


def test_precision_at_3_on_the_labelled_set(capsys):
    data, actor, cis, categories, keys = _load()
    hits = top1 = expected_total = 0
    silent = noise_total = 0
    misses = []
    for row in data["incidents"]:
        found = queries.match_known_errors(
            actor,
            text=row["text"],
            ci_ids=[cis[name].pk for name in row.get("cis", [])],
            category_id=categories[row["category"]].pk if row.get("category") else None,
            limit=3,
        )
        ranked = [keys[match.known_error.pk] for match in found]
        if row["expected"] is None:
            noise_total += 1
            silent += not ranked
            continue
        expected_total += 1
        if row["expected"] in ranked:
            hits += 1
            top1 += ranked[0] == row["expected"]
        else:
            misses.append(f"{row['text']!r}: expected {row['expected']}, got {ranked}")
    precision = hits / expected_total
    with capsys.disabled():
        print(
            f"\nknown-error matching: precision@3 = {precision:.3f} ({hits}/{expected_total}), "
            f"top-1 = {top1 / expected_total:.3f}, texts with no known error left unmatched: "
            f"{silent}/{noise_total}"
        )
        for miss in misses:
            print(f"  miss: {miss}")
    assert precision >= REQUIRED
    assert expected_total >= 50 and len(data["known_errors"]) == 20


def test_matches_explain_themselves_and_skip_closed_ones():
    data, actor, cis, categories, keys = _load()
    found = queries.match_known_errors(
        actor,
        text="VPN drops after sleep",
        ci_ids=[cis["GlobalProtect VPN"].pk],
        category_id=categories["Network"].pk,
    )
    best = found[0]
    assert keys[best.known_error.pk] == "vpn-sleep"
    assert "words" in best.why and "faulty CI GlobalProtect VPN" in best.why and "same category" in best.why
    services.known_error_transition(known_error=best.known_error, actor=actor, to="resolved")
    again = queries.match_known_errors(actor, text="VPN drops after sleep")
    assert best.known_error.pk not in [match.known_error.pk for match in again]
