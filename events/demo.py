"""Demo event management: a monitoring source, a few rules, a maintenance window, active checks on
demo CIs, and a week of events told as a story, processed through the real pipeline so the console,
the statistics and the incidents show what monitoring does:

- srv-db-01's disk latency went critical three days ago and cleared (its incident resolved itself);
- the payroll database is down now, and PayFlow's HTTP errors joined its group as a symptom;
- lb-01's TLS certificate expires in 12 days (a warning: its owner group was told);
- srv-backup-01's nightly backup failed every night this week (the alert counted past the "repeated"
  threshold: a problem candidate);
- informational config reloads, and test-environment noise a rule drops.

The source's token is never printed or logged (nothing posts with it here); an admin who wants to
post to it rotates it in the admin or the API, which shows the new one once. Idempotent: nothing
happens when the demo source exists. Run after the people, CMDB and incidents demos (CIs are looked
up by name; a missing one is left out).
"""

from __future__ import annotations

import datetime
import os

from django.db import connection, transaction
from django.db.models import Max, Min
from django.utils import timezone

from configuration.models import ConfigurationItem
from events import services
from events.choices import CheckKind, Classification, Severity
from events.models import Alert, AlertGroup, Check, EventSource, MaintenanceWindow, Rule

SOURCE = "demo-monitoring"


def _ci(name: str) -> ConfigurationItem | None:
    return ConfigurationItem.objects.filter(name=name).first()


def _story(now: datetime.datetime) -> list[dict]:
    def ago(days=0, hours=0, minutes=0) -> str:
        return (now - datetime.timedelta(days=days, hours=hours, minutes=minutes)).isoformat()

    events = [
        # Three days ago: disk latency on the database server, then recovery.
        {"resource": "srv-db-01", "check": "disk_io_latency", "severity": "critical", "value": 480,
         "message": "Disk latency 480 ms on /var/lib/postgresql", "occurred_at": ago(3, 2)},
        {"resource": "srv-db-01", "check": "disk_io_latency", "severity": "critical", "value": 510,
         "message": "Disk latency 510 ms on /var/lib/postgresql", "occurred_at": ago(3, 1, 55)},
        {"resource": "srv-db-01", "check": "disk_io_latency", "state": "clear", "value": 4,
         "message": "Disk latency back to 4 ms", "occurred_at": ago(3, 1, 20)},
        # Now: the payroll database is down, and the payroll application errors because of it.
        {"ci": "db_id=pg-payroll", "resource": "payroll-db", "check": "postgres_up", "severity": "critical",
         "value": 0, "message": "PostgreSQL on payroll-db does not answer", "occurred_at": ago(0, 0, 25)},
        {"ci": "app_id=payflow", "resource": "vm-payroll-app-01", "check": "http_5xx_rate", "severity": "major",
         "value": 37, "message": "37% of requests answer 5xx", "occurred_at": ago(0, 0, 22)},
        {"ci": "app_id=payflow", "resource": "vm-payroll-app-01", "check": "http_5xx_rate", "severity": "major",
         "value": 41, "message": "41% of requests answer 5xx", "occurred_at": ago(0, 0, 12)},
        # A warning: a certificate to renew.
        {"resource": "lb-01", "check": "tls_cert_expiry_days", "severity": "warning", "value": 12,
         "message": "The shop's TLS certificate expires in 12 days", "occurred_at": ago(0, 5)},
        # Informational: recorded for analysis only.
        {"resource": "lb-01", "check": "config_reload", "severity": "info",
         "message": "Configuration reloaded", "occurred_at": ago(1, 3)},
        {"resource": "fw-edge-01", "check": "config_reload", "severity": "info",
         "message": "Policy package installed", "occurred_at": ago(2, 6)},
        # Noise from the test environment: dropped by a rule.
        {"resource": "vm-shop-test-01", "check": "http_5xx_rate", "severity": "major",
         "labels": {"env": "test"}, "occurred_at": ago(0, 2)},
    ]  # fmt: skip
    # The nightly backup failed every night this week (minor: a warning each time).
    for night in range(7, 0, -1):
        events.append(
            {"resource": "srv-backup-01", "check": "backup_job", "severity": "minor", "value": 1,
             "message": "Nightly backup job failed (exit code 1)", "occurred_at": ago(night, -2)}
        )  # fmt: skip
    # ... and hourly retries the last night.
    for retry in range(5):
        events.append(
            {"resource": "srv-backup-01", "check": "backup_job", "severity": "minor", "value": 1,
             "message": "Backup retry failed", "occurred_at": ago(0, 8 - retry)}
        )  # fmt: skip
    return events


def _reference_data(now: datetime.datetime) -> tuple[EventSource, int]:
    source, _token = services.source_create(  # the token is dropped here: rotate it to post
        actor=None,
        fields={
            "name": SOURCE,
            "description": "Demo: the monitoring of the demo estate (Prometheus-like events).",
            "ci_lookup_label": "instance",
            "storm_threshold_per_minute": 600,
        },
    )
    rules = [
        Rule(name="Drop the test environment's noise", order=10, match_labels={"env": "test"}, drop=True),
        Rule(
            name="TLS certificates: a warning under 30 days",
            order=20,
            match_check="tls_cert_expiry_days",
            value_below=30,
            set_severity=Severity.WARNING,
            set_classification=Classification.WARNING,
        ),
        Rule(
            name="Backup failures: one alert per server",
            order=30,
            match_check="backup_job",
            set_dedup_key="{resource}:backup",
        ),
        Rule(
            name="Config reloads are informational",
            order=40,
            match_check="config_reload",
            set_classification=Classification.INFORMATIONAL,
        ),
    ]
    for rule in rules:
        rule.full_clean()
        rule.save()
    backup = _ci("srv-backup-01")
    saturday = (now + datetime.timedelta(days=(5 - now.weekday()) % 7 or 7)).replace(
        hour=22, minute=0, second=0, microsecond=0
    )
    window = MaintenanceWindow.objects.create(
        name="Monthly patching of the backup server",
        reason="OS and agent updates; the backup server reboots twice.",
        starts_at=saturday,
        ends_at=saturday + datetime.timedelta(hours=4),
    )
    if backup is not None:
        window.cis.add(backup)
    checks = [
        # The demo's own web server (``make run``): a real check that passes while it is up.
        (
            "Online shop",
            "http",
            CheckKind.HTTP,
            f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/healthz",
            True,
        ),
        ("lb-01", "https", CheckKind.HTTP, "https://shop.example.com/", False),
        ("srv-db-02", "postgres-port", CheckKind.TCP, "srv-db-02.dc1.example.com:5432", False),
    ]
    made = 0
    for ci_name, name, kind, target, enabled in checks:
        ci = _ci(ci_name)
        if ci is not None:
            Check.objects.create(
                ci=ci, name=name, kind=kind, target=target, enabled=enabled, interval_seconds=60
            )
            made += 1
    return source, made


def _backdate(source: EventSource) -> None:
    """The story happened in the past: events were received when they occurred, and groups opened and
    closed with their alerts."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE events_event SET received_at = occurred_at WHERE source_id = %s", [source.pk])
        cursor.execute(
            "UPDATE events_rawevent r SET received_at = e.occurred_at FROM events_event e "
            "WHERE e.raw_id = r.id AND r.source_id = %s",
            [source.pk],
        )
    groups = AlertGroup.objects.filter(alerts__source=source).distinct()
    for group in groups:
        times = Alert.objects.filter(group=group).aggregate(
            first=Min("first_seen_at"), last=Max("last_seen_at"), closed=Max("closed_at")
        )
        group.opened_at, group.last_alert_at = times["first"], times["last"]
        if group.closed_at is not None and times["closed"] is not None:
            group.closed_at = times["closed"]
        group.save(update_fields=["opened_at", "last_alert_at", "closed_at"])


def load_demo() -> str:
    if EventSource.objects.filter(name=SOURCE).exists():
        return "already loaded (the demo source exists)"
    now = timezone.now()
    with transaction.atomic():
        source, checks = _reference_data(now)
    # As it happened: one event at a time, in time order (a clear three days later is another batch).
    processed = 0
    for event in sorted(_story(now), key=lambda e: e["occurred_at"]):
        with transaction.atomic():
            parsed = services.parse_generic(source, event, received_at=now)
            accepted = services.events_ingest(source=source, parsed=parsed, received_at=now)
        processed += services.process_batch(raw_ids=accepted.ids).raw
    with transaction.atomic():
        _backdate(source)
    groups = AlertGroup.objects.filter(alerts__source=source).distinct().count()
    return (
        f"source {SOURCE} (token not shown: rotate it in the admin to post), 4 rules, 1 maintenance window, "
        f"{checks} checks, {processed} events in {groups} alert groups"
    )
