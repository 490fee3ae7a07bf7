"""Demo problems and known errors, over the incident demo's story.

* PRB "VPN drops for home workers": from recurring incidents, linked to the demo's VPN incidents,
  analysed across the four dimensions; its known error (workaround: update the client) is published
  to the portal and applied to the open VPN incidents; the resolved ones count as earlier uses
  (written directly, rated by their resolution code) so that its effectiveness shows;
* PRB "Meeting room Wi-Fi drops": from trend analysis, under investigation, an early workaround;
* KE "Intranet certificate warning" recorded directly, with two fix options and a fix proposal;
* PRB "E-mail outage" from the resolved major incident, resolved; a new proactive problem;
* an improvement register entry; then recurring detection runs once over the demo's incidents.

Written through ``problems.services`` (history, timeline, links are real). Idempotent: nothing is
loaded when the VPN known error is already there. Run after the incident demo (incidents looked up
by their short description; a missing one is left out).
"""

from __future__ import annotations

from django.db import transaction

from configuration.models import ConfigurationItem
from incidents.choices import OPEN_STATUSES as INCIDENT_OPEN
from incidents.choices import ResolutionCode
from incidents.models import Category, Incident
from people.models import User
from problems import detection, services
from problems.choices import RiskScale, Status
from problems.models import KnownError, RiskLevel, WorkaroundUse

VPN_KE = "VPN client drops the connection every few minutes"


def _level(scale: str, value: int) -> RiskLevel | None:
    return RiskLevel.objects.filter(scale=scale, value=value).first()


def _cis(*names: str) -> list[ConfigurationItem]:
    return list(ConfigurationItem.objects.filter(name__in=names))


def _incidents(short: str) -> list[Incident]:
    return list(Incident.objects.filter(short_description=short).order_by("id"))


def load_demo() -> str:
    if KnownError.objects.filter(title=VPN_KE).exists():
        return "0 problems created (demo problems already there)"
    manager = User.objects.filter(username="manager").first()
    agent = User.objects.filter(username="agent").first() or manager
    if manager is None:
        return "skipped: the people demo's users are missing"
    with transaction.atomic():
        created = _story(manager, agent)
    result = detection.detect_recurring()
    return (
        f"{created['problems']} problems, {created['known_errors']} known errors, {created['uses']} workaround "
        f"uses, {result.proposed} proposed problems created"
    )


def _story(manager, agent) -> dict:
    categories = {c.name: c for c in Category.objects.filter(parent__isnull=True)}
    counts = {"problems": 0, "known_errors": 0, "uses": 0}

    # 1. VPN: recurring incidents -> analysed -> known error published, applied.
    vpn_incidents = _incidents("VPN disconnects every few minutes when working from home")
    vpn = services.problem_create(
        actor=manager,
        fields={
            "title": "VPN drops for home workers on the old client",
            "description": "Home workers lose the VPN every few minutes; the desk logs several a week.",
            "source": "recurring_incidents",
            "category": categories.get("Network"),
            "services": _cis("Network"),
            "problem_manager": manager,
            "impact": _level(RiskScale.IMPACT, 3),
            "probability": _level(RiskScale.PROBABILITY, 4),
        },
        incidents=vpn_incidents,
    )
    vpn = services.problem_transition(problem=vpn, actor=manager, to=Status.UNDER_INVESTIGATION)
    services.workaround_create(
        actor=agent,
        problem=vpn,
        fields={
            "title": "Update the VPN client",
            "symptoms": "VPN connects, then drops after a few minutes, repeatedly, on client 5.1 or older",
            "steps": "Software Centre › Network › GlobalProtect: install the current version, restart the "
            "laptop and connect again.",
            "automatable": True,
            "runbook_reference": "RB-NET-014 push GlobalProtect via Intune",
        },
    )
    vpn = services.problem_update(
        problem=vpn,
        actor=manager,
        changes={
            "analysis_technology": "Client 5.1 does not renew its session key when the home router renews "
            "its lease; 5.2 does.",
            "analysis_people": "Home workers do not restart laptops, so the software centre update never runs.",
            "analysis_partners": "The vendor fixed it in 5.2 (release note GP-4411).",
            "analysis_value_streams": "The laptop build still ships 5.1; the update ring excludes laptops off VPN.",
            "root_cause": "VPN client 5.1 drops its session when the DHCP lease of the home router renews.",
            "contributing_causes": "Laptop build not updated; update ring skips machines off the network.",
        },
    )
    known_error = services.known_error_create(
        actor=manager,
        fields={
            "title": VPN_KE,
            "symptoms": "VPN disconnects every few minutes when working from home; the client shows "
            "'gateway unreachable' and reconnects.",
            "owner": manager,
            "reassessment_interval_days": 30,
        },
        problem=vpn,
    )
    services.known_error_update(
        known_error=known_error,
        actor=manager,
        changes={
            "publish_to_portal": True,
            "public_text": "If your VPN drops every few minutes at home, update the VPN client from the "
            "Software Centre (Network › GlobalProtect) and restart your laptop.",
        },
    )
    for incident in vpn_incidents[:6]:
        if incident.status in INCIDENT_OPEN:
            services.workaround_apply(known_error=known_error, incident=incident, actor=agent)
            counts["uses"] += 1
    # The desk applied the same fix by hand before the known error was recorded: those resolved
    # incidents count as uses, rated by how they were resolved (so the effectiveness shows).
    earlier = [i for i in vpn_incidents if i.status not in INCIDENT_OPEN and i.resolved_at is not None]
    rows = WorkaroundUse.objects.bulk_create(
        [
            WorkaroundUse(
                known_error=known_error,
                workaround=known_error.workarounds.first(),
                incident=incident,
                applied_by=incident.resolved_by,
                outcome="worked" if incident.resolution_code == ResolutionCode.KNOWN_ERROR else "partly",
                outcome_at=incident.resolved_at,
            )
            for incident in earlier
        ]
    )
    for row, incident in zip(rows, earlier, strict=True):
        WorkaroundUse.objects.filter(pk=row.pk).update(applied_at=incident.resolved_at)
    counts["uses"] += len(earlier)
    option = services.fix_option_add(
        known_error=known_error,
        actor=manager,
        fields={
            "title": "Push client 5.2 to every laptop",
            "cost": "800.00",
            "effort_days": "3.0",
            "risk": "low",
            "benefit": "Ends the recurring VPN incidents (about four a week).",
        },
    )
    services.fix_propose(
        fix_option=option,
        actor=manager,
        justification="Three days of packaging removes about 200 incidents a year; low risk, rolled out in rings.",
    )
    services.improvement_create(
        actor=manager,
        fields={
            "title": "Keep laptop builds on the supported VPN client",
            "benefit": "No more incidents from outdated clients",
            "benefit_level": 3,
            "effort": 1,
            "owner": manager,
            "problem": vpn,
        },
    )
    counts["problems"] += 1
    counts["known_errors"] += 1

    # 2. Wi-Fi: trend analysis, under investigation with an early workaround.
    wifi = services.problem_create(
        actor=agent,
        fields={
            "title": "Meeting room Wi-Fi drops on the third floor",
            "source": "trend_analysis",
            "services": _cis("Network"),
            "category": categories.get("Network"),
            "problem_manager": manager,
            "impact": _level(RiskScale.IMPACT, 2),
            "probability": _level(RiskScale.PROBABILITY, 3),
        },
        incidents=_incidents("Wi-Fi keeps dropping in meeting room 3.14"),
    )
    services.problem_transition(problem=wifi, actor=agent, to=Status.UNDER_INVESTIGATION)
    services.workaround_create(
        actor=agent,
        problem=wifi,
        fields={
            "title": "Use the wired dock in the room",
            "symptoms": "Laptops lose the Wi-Fi every few minutes in meeting rooms 3.xx",
            "steps": "Plug the laptop into the meeting room dock; the wired network is not affected.",
        },
    )
    counts["problems"] += 1

    # 3. A known error recorded directly, with fix options.
    cert = services.known_error_create(
        actor=agent,
        fields={
            "title": "Intranet certificate warning on newly built laptops",
            "symptoms": "Chrome says the connection to the intranet is not private; NET::ERR_CERT_AUTHORITY_INVALID "
            "on laptops built this month.",
            "root_cause": "The internal root certificate is missing from the new laptop image.",
            "category": categories.get("Software"),
            "owner": manager,
        },
        workaround={
            "title": "Re-push the root certificate",
            "symptoms": "Certificate warning on the intranet",
            "steps": "Run gpupdate /force, then restart Chrome.",
        },
    )
    services.fix_option_add(
        known_error=cert,
        actor=agent,
        fields={
            "title": "Add the certificate to the image",
            "cost": "0",
            "risk": "low",
            "benefit": "Fixed for good",
        },
    )
    services.fix_option_add(
        known_error=cert,
        actor=agent,
        fields={
            "title": "Public certificate for the intranet",
            "cost": "300.00",
            "risk": "medium",
            "benefit": "No internal CA needed",
        },
    )
    counts["known_errors"] += 1

    # 4. The e-mail outage from the major incident, resolved; 5. a new proactive problem.
    outage = _incidents("E-mail down for all staff: mailbox server not responding")
    mail = services.problem_create(
        actor=manager,
        fields={
            "title": "Mailbox server stops responding when the disk fills",
            "source": "major_incident",
            "cis": _cis("Mail server (Postfix/Dovecot)"),
            "category": categories.get("E-mail"),
            "problem_manager": manager,
            "impact": _level(RiskScale.IMPACT, 5),
            "probability": _level(RiskScale.PROBABILITY, 2),
        },
        incidents=outage,
    )
    services.problem_transition(problem=mail, actor=manager, to=Status.UNDER_INVESTIGATION)
    services.problem_update(
        problem=mail,
        actor=manager,
        changes={"root_cause": "Log volume on the mailbox server had no rotation; the disk filled."},
    )
    services.problem_transition(
        problem=mail, actor=manager, to=Status.RESOLVED, notes="Log rotation configured and disk alert added."
    )
    services.problem_create(
        actor=agent,
        fields={
            "title": "Payroll bank export depends on a hand-edited creditor reference",
            "source": "proactive",
            "category": categories.get("Software"),
        },
        incidents=_incidents("Payroll export to the bank fails with a format error"),
    )
    counts["problems"] += 2
    return counts
