"""Benchmark "cmdb" (B8): 100,000 CIs and 300,000 relationships; import rate, impact analysis, CI list.

Seeding (in a Django subprocess, fixed random seed, ``BENCH_CMDB_SCALE`` times the full size):

* A layered estate, imported bottom-up through ``configuration.imports.import_items`` in calls of
  ``BATCH`` items, which is what the import rate (CIs/s) measures: sites, network devices (core and
  access switches, firewalls, load balancers), physical servers (hypervisors, bare metal, backup),
  VMs, storage (local disks, SAN volumes), databases, installed software, documents, applications
  and services (~500 business and technical). Every item carries its identifiers, attributes,
  status, environment, criticality and owner group; application and service items also carry their
  relationships ("depends on"/"runs on"/"documented by" pointing down the stack), so the last
  layers measure the import with relationships.
* The bulk of the relationships (the infrastructure wiring: runs on, part of, connected to,
  located in, backed up by, and application-to-application cross links including a few explicit
  cycles) is then inserted with one ``INSERT ... SELECT FROM unnest`` per chunk, without history
  (a discovery tool's wiring, not a feed under test); its rate is reported separately.
* Exact counts: the feed's CIs, identifiers and relationships in the database equal the generated
  ones. Seeding is resumable: items whose identifier is already there are skipped, relationships
  are inserted with ``ON CONFLICT DO NOTHING``; a fully seeded database is detected by its counts
  and not touched (the import figures of the run that imported are kept in ``KernelState``). A
  database seeded at another scale is emptied of the feed's CIs first.

Loads (127.0.0.1 only, each bounded by a request count and a duration; from the in-process
measurement on, every statement of the bench processes, gunicorn's included, is capped at
``STATEMENT_TIMEOUT_MS`` through ``PGOPTIONS``):

* impact analysis from random leaf CIs (local disks and access switches) in process
  (``queries.impact_analysis``, before the server starts);
* the CI list: ``GET /api/v1/configuration/cis/`` (token), filtered by class and by attribute, and
  the HTML page ``/configuration/cis/`` (signed in through the login form), at concurrency 1 and 8;
* last (a request the client gave up on keeps the server busy), impact analysis through
  ``GET /api/v1/configuration/cis/{id}/impact/`` from the same leaves at concurrency 1 and 4.

The runner does not collect static files; ``seed`` runs ``collectstatic`` (as ``make run`` does)
so that the HTML page renders under gunicorn with DEBUG off.

Environment: ``BENCH_CMDB_SCALE`` (default 1.0; 0.05 for a quick check), ``BENCH_CMDB_SEED_MAX_S``
(default 3600: the import stops after that and a later run resumes), ``BENCH_CMDB_RESEED=1`` (empty
the feed's CIs and import again, to re-measure the import).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

from bench.loadgen import _percentile, _summary, _Worker, run_load
from bench.runner import BASE_DIR, call_in_django, login, probe

SEED = 20240608
FEED = "bench-cmdb"
STATE_KEY = "bench_cmdb"
BATCH = 2000
REL_CHUNK = 20000
AGENT, AGENT_PASSWORD = "bench-agent", "bench-password"
TARGET_CIS, TARGET_RELATIONSHIPS = 100_000, 300_000
GROUPS = (
    "Service desk",
    "Infrastructure (2nd line)",
    "Business applications",
    "Network team",
    "Database team",
)

CI_LIST_API = "/api/v1/configuration/cis/"
CI_LIST_HTML = "/configuration/cis/"
IMPACT_API = "/api/v1/configuration/cis/{id}/impact/"
LEAVES_PER_KIND = 100
LIST_REQUESTS, LIST_SECONDS, LIST_CONCURRENCIES = 1000, 20.0, (1, 8)
IMPACT_REQUESTS, IMPACT_SECONDS, IMPACT_CONCURRENCIES = 400, 30.0, (1, 4)
IN_PROCESS_IMPACTS, IN_PROCESS_SECONDS = 200, 60.0
WARMUP = 20
WRITTEN_TABLES = (
    "configuration_configurationitem",
    "configuration_ciidentifier",
    "configuration_relationship",
    "itsm_changerecord",
)
STATEMENT_TIMEOUT_MS = 30_000  # no runaway query outlives the bench

# Layer sizes at scale 1.0, in import order (targets before the items pointing at them).
SIZES = {
    "location": 20,
    "network": 2_500,
    "server": 6_000,
    "vm": 24_000,
    "storage": 32_000,
    "database": 12_000,
    "software": 17_400,
    "document": 580,
    "application": 5_000,
    "technical": 100,
    "business": 400,
}
assert sum(SIZES.values()) == TARGET_CIS

OS_CHOICES = (
    ("Ubuntu", "22.04"),
    ("Ubuntu", "24.04"),
    ("Red Hat Enterprise Linux", "9.3"),
    ("Red Hat Enterprise Linux", "8.9"),
    ("Windows Server", "2022"),
    ("Debian", "12"),
)
DISK_MODELS = (
    ("Kioxia", "XYZ-800"),
    ("Kioxia", "XYZ-1600"),
    ("Samsung", "PM9A3"),
    ("Seagate", "Exos X18"),
    ("Micron", "7450 PRO"),
    ("Intel", "D7-P5520"),
)
SOFTWARE = (
    ("OpenSSL Project", "OpenSSL", ("1.1.1w", "3.0.2", "3.0.13", "3.2.1")),
    ("F5 / nginx", "nginx", ("1.18.0", "1.24.0", "1.26.1")),
    ("Apache", "Tomcat", ("9.0.85", "10.1.19")),
    ("Oracle", "Java runtime", ("11.0.22", "17.0.10", "21.0.2")),
    ("Elastic", "Filebeat", ("8.12.2", "8.13.0")),
    ("Microsoft", ".NET runtime", ("6.0.27", "8.0.3")),
)
ENGINES = (
    ("postgresql", ("14.11", "15.6", "16.2")),
    ("mysql", ("8.0.36",)),
    ("mariadb", ("10.11.7",)),
    ("oracle", ("19c",)),
    ("sqlserver", ("2019", "2022")),
    ("mongodb", ("7.0.6",)),
)
SERVICE_WORDS = (
    "Payroll",
    "Online shop",
    "Billing",
    "Invoicing",
    "CRM",
    "Warehouse",
    "Logistics",
    "HR portal",
    "Customer portal",
    "E-mail",
    "Reporting",
    "Data lake",
    "Procurement",
    "Treasury",
    "Booking",
    "Loyalty",
    "Pricing",
    "Catalogue",
    "Claims",
    "Onboarding",
)
REGIONS = ("EU", "UK", "US", "APAC", "LATAM", "Nordics", "DACH", "Benelux")


def scale() -> float:
    value = float(os.environ.get("BENCH_CMDB_SCALE", "1.0"))
    if not 0 < value <= 1.0:
        raise ValueError("BENCH_CMDB_SCALE must be in (0, 1]")
    return value


# ------------------------------------------------------------------------------------ the estate


@dataclass
class Estate:
    """The generated feed: items in import order, each item's key identifier, and relationships."""

    items: list[dict] = field(default_factory=list)
    keys: list[tuple[str, str]] = field(default_factory=list)  # (scheme, value) per item
    layers: dict[str, range] = field(default_factory=dict)
    imported_relationships: set[tuple[int, int, str]] = field(default_factory=set)  # carried by items
    bulk_relationships: set[tuple[int, int, str]] = field(default_factory=set)  # inserted in bulk
    cycles: int = 0

    def add(self, layer: str, item: dict, scheme: str) -> int:
        self.items.append(item)
        self.keys.append((scheme, item["identifiers"][scheme]))
        return len(self.items) - 1

    def relate_in_item(self, source: int, rel_type: str, target: int) -> None:
        edge = (source, target, rel_type)
        if source == target or edge in self.imported_relationships:
            return
        self.imported_relationships.add(edge)
        scheme, value = self.keys[target]
        self.items[source].setdefault("relationships", []).append(
            {"type": rel_type, "target": {"identifiers": {scheme: value}}}
        )

    def relate_in_bulk(self, source: int, rel_type: str, target: int) -> bool:
        edge = (source, target, rel_type)
        if source == target or edge in self.imported_relationships or edge in self.bulk_relationships:
            return False
        self.bulk_relationships.add(edge)
        return True

    @property
    def relationship_count(self) -> int:
        return len(self.imported_relationships) + len(self.bulk_relationships)


def _sizes(factor: float) -> dict[str, int]:
    return {layer: max(2, round(size * factor)) for layer, size in SIZES.items()}


def _status(rng: random.Random) -> str:
    roll = rng.random()
    return "live" if roll < 0.9 else "maintenance" if roll < 0.94 else "planned" if roll < 0.98 else "retired"


def _environment(rng: random.Random) -> str:
    roll = rng.random()
    return "production" if roll < 0.7 else "test" if roll < 0.85 else "development" if roll < 0.95 else "dr"


def _ip(index: int, block: int) -> str:
    return f"10.{block}.{index // 250 % 250}.{index % 250 + 2}"


def generate(factor: float) -> Estate:
    """The estate at ``factor`` times the full size; the same for the same factor, every time."""
    rng = random.Random(SEED)
    sizes = _sizes(factor)
    estate = Estate()

    def layer(name: str, make) -> list[int]:
        start = len(estate.items)
        indexes = [make(i) for i in range(sizes[name])]
        estate.layers[name] = range(start, len(estate.items))
        return indexes

    def base(
        kind: str, name: str, identifiers: dict, attributes: dict, owner: str, crit: int | None = None
    ) -> dict:
        return {
            "class": kind,
            "name": name,
            "identifiers": identifiers,
            "attributes": attributes,
            "status": _status(rng),
            "environment": _environment(rng),
            "criticality": crit or rng.choice((1, 2, 2, 3, 3, 3, 4)),
            "owner_group": owner,
        }

    sites = layer(
        "location",
        lambda i: estate.add(
            "location",
            base(
                "location",
                f"Site {i:03d} data centre",
                {"site_code": f"bench-site-{i:03d}"},
                {"address": f"{i + 1} Data Park, {rng.choice(REGIONS)}"},
                GROUPS[1],
                1,
            ),
            "site_code",
        ),
    )

    # network: core switches first, then firewalls, load balancers and access switches
    network_size = sizes["network"]
    n_core = max(2, round(network_size * 0.016))
    n_fw = max(1, round(network_size * 0.064))
    n_lb = max(1, round(network_size * 0.12))
    roles = ["switch"] * n_core + ["firewall"] * n_fw + ["load-balancer"] * n_lb
    roles += ["switch"] * (network_size - len(roles))

    def network(i: int) -> int:
        role = roles[i]
        kind = "core" if i < n_core else {"switch": "acc", "firewall": "fw", "load-balancer": "lb"}[role]
        host = f"bench-{kind}-{i:05d}"
        vendor, model = rng.choice(
            (("Cisco", "Nexus 93180YC-FX"), ("Arista", "7050X3"), ("Juniper", "QFX5120"))
        )
        if role == "firewall":
            vendor, model = "Fortinet", "FortiGate 600F"
        elif role == "load-balancer":
            vendor, model = "F5", "BIG-IP i5800"
        return estate.add(
            "network",
            base(
                "network-device",
                host,
                {"hostname": host, "serial": f"bench-nw-sn-{i:06d}"},
                {
                    "manufacturer": vendor,
                    "model": model,
                    "device_role": role,
                    "firmware_version": f"{rng.randint(7, 10)}.{rng.randint(0, 9)}.{rng.randint(0, 9)}",
                    "management_ip": _ip(i, 1),
                },
                GROUPS[3],
                1 if i < n_core else None,
            ),
            "hostname",
        )

    net = layer("network", network)
    cores, firewalls = net[:n_core], net[n_core : n_core + n_fw]
    balancers = net[n_core + n_fw : n_core + n_fw + n_lb]
    access = net[n_core + n_fw + n_lb :] or cores
    for device in net[n_core:]:
        for core in rng.sample(cores, 2):
            estate.relate_in_bulk(device, "connected-to", core)
    for device in net:
        estate.relate_in_bulk(device, "located-in", rng.choice(sites))

    # physical servers: hypervisors, bare metal, backup servers
    server_size = sizes["server"]
    n_hyp, n_backup = max(1, server_size // 3), max(1, round(server_size * 0.083))

    def server(i: int) -> int:
        role = "esx" if i < n_hyp else "bkp" if i < n_hyp + n_backup else "srv"
        host = f"bench-{role}-{i:06d}"
        os_name, os_version = ("VMware ESXi", "8.0 U2") if role == "esx" else rng.choice(OS_CHOICES)
        attributes = {
            "manufacturer": rng.choice(("Dell", "HPE", "Lenovo")),
            "model": rng.choice(("R650", "DL380", "SR650")),
            "os": os_name,
            "os_version": os_version,
            "cpu_cores": rng.choice((16, 32, 48, 64)),
            "memory_gb": rng.choice((64, 128, 256, 512, 768)),
            "ip_address": _ip(i, 2),
        }
        if rng.random() < 0.1:
            attributes["admin_credentials_ref"] = f"vault:secret/{host}"
        return estate.add(
            "server",
            base(
                "server", host, {"hostname": host, "serial": f"bench-srv-sn-{i:06d}"}, attributes, GROUPS[1]
            ),
            "hostname",
        )

    servers = layer("server", server)
    hypervisors, backups = servers[:n_hyp], servers[n_hyp : n_hyp + n_backup]
    bare_metal = servers[n_hyp + n_backup :] or hypervisors
    for position, host in enumerate(servers):
        uplinks = 4 if position < n_hyp else 2
        first = rng.randrange(len(access))
        for step in range(uplinks):
            estate.relate_in_bulk(host, "connected-to", access[(first + step) % len(access)])
        estate.relate_in_bulk(host, "located-in", rng.choice(sites))
    for host in bare_metal:
        estate.relate_in_bulk(host, "backed-up-by", rng.choice(backups))

    def vm(i: int) -> int:
        host = f"bench-vm-{i:06d}"
        os_name, os_version = rng.choice(OS_CHOICES)
        attributes = {
            "os": os_name,
            "os_version": os_version,
            "cpu_cores": rng.choice((2, 4, 8, 16)),
            "memory_gb": rng.choice((4, 8, 16, 32, 64)),
            "ip_address": _ip(i, 3),
            "cloud_provider": rng.choice(("on-premises (vSphere)", "on-premises (vSphere)", "AWS", "Azure")),
        }
        if rng.random() < 0.05:
            attributes["admin_credentials_ref"] = f"vault:secret/{host}"
        return estate.add(
            "vm",
            base(
                "virtual-machine",
                host,
                {"hostname": host, "fqdn": f"{host}.bench.example.com"},
                attributes,
                rng.choice(GROUPS[1:3]),
            ),
            "hostname",
        )

    vms = layer("vm", vm)
    for machine in vms:
        estate.relate_in_bulk(machine, "runs-on", rng.choice(hypervisors))
        estate.relate_in_bulk(machine, "backed-up-by", rng.choice(backups))

    # storage: SAN volumes (VMs depend on them) and local disks (part of a physical server)
    storage_size = sizes["storage"]
    n_volumes = max(1, round(storage_size * 0.0625))

    def storage(i: int) -> int:
        if i < n_volumes:
            serial = f"bench-vol-{i:06d}"
            item = base(
                "storage",
                f"SAN volume {i:06d}",
                {"serial": serial},
                {
                    "manufacturer": "NetApp",
                    "model": "AFF A400",
                    "capacity_gb": rng.choice((2048, 4096, 8192)),
                    "firmware_version": "ONTAP 9.14.1",
                },
                GROUPS[1],
            )
        else:
            serial = f"bench-dsk-{i:07d}"
            vendor, model = rng.choice(DISK_MODELS)
            item = base(
                "storage",
                f"Disk {serial}",
                {"serial": serial},
                {
                    "manufacturer": vendor,
                    "model": model,
                    "capacity_gb": rng.choice((960, 1920, 3840, 7680)),
                    "firmware_version": f"{rng.randint(1, 3)}.{rng.randint(0, 9)}",
                },
                GROUPS[1],
                3,
            )
        return estate.add("storage", item, "serial")

    stores = layer("storage", storage)
    volumes, disks = stores[:n_volumes], stores[n_volumes:]
    for machine in vms:
        for volume in rng.sample(volumes, min(2, len(volumes))):
            estate.relate_in_bulk(machine, "depends-on", volume)
    for position, disk in enumerate(disks):
        estate.relate_in_bulk(disk, "part-of", servers[position % len(servers)])

    def database(i: int) -> int:
        engine, versions = rng.choice(ENGINES)
        name = f"bench-db-{i:06d}"
        attributes = {"engine": engine, "version": rng.choice(versions), "size_gb": rng.randint(1, 4000)}
        if rng.random() < 0.2:
            attributes["connection_secret_ref"] = f"vault:secret/db/{name}"
        return estate.add("database", base("database", name, {"db_id": name}, attributes, GROUPS[4]), "db_id")

    databases = layer("database", database)
    for db in databases:
        hosts = (
            rng.sample(vms, 2)
            if rng.random() < 0.5
            else [rng.choice(vms if rng.random() < 0.7 else bare_metal)]
        )
        for host in hosts:
            estate.relate_in_bulk(db, "runs-on", host)
        estate.relate_in_bulk(db, "backed-up-by", rng.choice(backups))

    hosts_for_software = vms + bare_metal

    def software(i: int) -> int:
        vendor, product, versions = rng.choice(SOFTWARE)
        version = rng.choice(versions)
        host_index = hosts_for_software[i % len(hosts_for_software)]
        host = estate.keys[host_index][1]
        ident = f"bench-pkg-{i:06d}"
        return estate.add(
            "software",
            base(
                "software",
                f"{product} {version} on {host}",
                {"software_id": ident},
                {"vendor": vendor, "version": version},
                GROUPS[1],
                3,
            ),
            "software_id",
        )

    packages = layer("software", software)
    for position, package in enumerate(packages):
        estate.relate_in_bulk(package, "runs-on", hosts_for_software[position % len(hosts_for_software)])

    documents = layer(
        "document",
        lambda i: estate.add(
            "document",
            base(
                "document",
                f"Run book {i:05d}",
                {"document_id": f"bench-doc-{i:05d}"},
                {
                    "url": f"https://wiki.example.com/runbooks/{i:05d}",
                    "document_version": str(rng.randint(1, 9)),
                },
                GROUPS[0],
                4,
            ),
            "document_id",
        ),
    )

    def application(i: int) -> int:
        ident = f"bench-app-{i:05d}"
        index = estate.add(
            "application",
            base(
                "application",
                f"{rng.choice(SERVICE_WORDS)} app {i:05d}",
                {"app_id": ident},
                {
                    "vendor": rng.choice(("In-house", "SAP", "Oracle", "Salesforce", "Atlassian")),
                    "version": f"{rng.randint(1, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}",
                    "url": f"https://{ident}.apps.example.com",
                },
                GROUPS[2],
            ),
            "app_id",
        )
        for machine in rng.sample(vms, min(len(vms), rng.randint(4, 10))):
            estate.relate_in_item(index, "runs-on", machine)
        for db in rng.sample(databases, min(len(databases), rng.randint(1, 3))):
            estate.relate_in_item(index, "depends-on", db)
        for package in rng.sample(packages, min(len(packages), rng.randint(0, 2))):
            estate.relate_in_item(index, "depends-on", package)
        if rng.random() < 0.5:
            estate.relate_in_item(index, "documented-by", rng.choice(documents))
        return index

    apps = layer("application", application)
    # application-to-application cross links (to earlier and later apps: cycles happen), in bulk
    for app in apps:
        for other in rng.sample(apps, min(len(apps), rng.randint(1, 3))):
            estate.relate_in_bulk(app, "depends-on", other)
    for _ in range(max(1, len(apps) // 250)):  # a few explicit 3-cycles
        a, b, c = rng.sample(apps, 3)
        estate.relate_in_bulk(a, "depends-on", b)
        estate.relate_in_bulk(b, "depends-on", c)
        estate.relate_in_bulk(c, "depends-on", a)
        estate.cycles += 1
    infra_apps = apps[: max(1, len(apps) // 10)]

    def technical(i: int) -> int:
        name = f"Technical service {i:03d} ({rng.choice(('Identity', 'Database platform', 'Network', 'Messaging', 'Storage', 'Monitoring'))})"
        index = estate.add(
            "technical",
            base(
                "technical-service",
                name,
                {"service_id": f"bench-tsvc-{i:03d}"},
                {"service_hours": "24x7"},
                GROUPS[1],
                1,
            ),
            "service_id",
        )
        for app in rng.sample(infra_apps, min(len(infra_apps), rng.randint(5, 15))):
            estate.relate_in_item(index, "depends-on", app)
        for device in rng.sample(cores + firewalls + balancers, min(3, len(cores))):
            estate.relate_in_item(index, "depends-on", device)
        return index

    technical_services = layer("technical", technical)

    def business(i: int) -> int:
        name = f"{rng.choice(SERVICE_WORDS)} {rng.choice(REGIONS)} service {i:03d}"
        index = estate.add(
            "business",
            base(
                "business-service",
                name,
                {"service_id": f"bench-bsvc-{i:03d}"},
                {
                    "service_hours": rng.choice(("24x7", "Mon-Fri 08:00-18:00")),
                    "business_owner": f"Owner {i:03d}",
                },
                GROUPS[2],
            ),
            "service_id",
        )
        for app in rng.sample(apps, min(len(apps), rng.randint(5, 25))):
            estate.relate_in_item(index, "depends-on", app)
        for service in rng.sample(technical_services, min(len(technical_services), rng.randint(1, 3))):
            estate.relate_in_item(index, "depends-on", service)
        for document in rng.sample(documents, min(len(documents), rng.randint(0, 2))):
            estate.relate_in_item(index, "documented-by", document)
        return index

    layer("business", business)

    # top up to exactly the target with more cross links: apps on more databases and on each other
    target = round(TARGET_RELATIONSHIPS * factor)
    attempts = 0
    while estate.relationship_count < target and attempts < target * 10:
        attempts += 1
        app = rng.choice(apps)
        if rng.random() < 0.5:
            estate.relate_in_bulk(app, "depends-on", rng.choice(databases))
        else:
            estate.relate_in_bulk(app, "depends-on", rng.choice(apps))
    return estate


# ----------------------------------------------------------------------------- inside Django: seed


def _log(message: str) -> None:
    print(f"[cmdb] {message}", file=sys.stderr, flush=True)


def _state():
    from itsm.models import KernelState

    state = KernelState.objects.filter(key=STATE_KEY).first()
    return state.value if state else {}


def _save_state(value: dict) -> None:
    from itsm.models import KernelState

    KernelState.objects.update_or_create(key=STATE_KEY, defaults={"value": value})


def _agent() -> dict:
    """The bench agent (as bench/api_list.py creates it, same password), its token, the owner groups."""
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from rest_framework.authtoken.models import Token

    from people.models import SupportGroup, User

    agent, _ = User.objects.get_or_create(
        username=AGENT,
        defaults={
            "first_name": "Bench",
            "last_name": "Agent",
            "email": "bench-agent@example.com",
            "password": make_password(AGENT_PASSWORD),
        },
    )
    agent.groups.add(Group.objects.get_or_create(name="agent")[0])
    for name in GROUPS:
        SupportGroup.objects.get_or_create(name=name)
    token, _ = Token.objects.get_or_create(user=agent)
    return {"token": token.key}


def _feed_ci_ids_sql() -> str:
    return "SELECT id FROM configuration_configurationitem WHERE source = %s"


def _wipe() -> None:
    """Remove the feed's CIs with everything hanging off them (raw SQL: 100k CIs in seconds)."""
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection, transaction

    from configuration.models import ConfigurationItem

    content_type = ContentType.objects.get_for_model(ConfigurationItem)
    ids = _feed_ci_ids_sql()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM configuration_relationship WHERE source_id IN ({ids}) OR target_id IN ({ids})",  # noqa: S608
            [FEED, FEED],
        )
        cursor.execute(f"DELETE FROM configuration_ciidentifier WHERE ci_id IN ({ids})", [FEED])  # noqa: S608
        cursor.execute(
            f"DELETE FROM configuration_configurationitem_organisations WHERE configurationitem_id IN ({ids})",  # noqa: S608
            [FEED],
        )
        cursor.execute(
            f"DELETE FROM itsm_changerecord WHERE content_type_id = %s AND object_id IN ({ids})",  # noqa: S608
            [content_type.pk, FEED],
        )
        cursor.execute("DELETE FROM configuration_configurationitem WHERE source = %s", [FEED])
        deleted = cursor.rowcount
    with connection.cursor() as cursor:  # a fair import afterwards: no dead rows or stale statistics
        for table in WRITTEN_TABLES:
            cursor.execute(f"VACUUM ANALYZE {table}")
    _log(f"removed {deleted} CIs of the feed {FEED!r} (another scale, or BENCH_CMDB_RESEED=1)")


def _counts() -> dict:
    from django.db import connection

    ids = _feed_ci_ids_sql()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM configuration_configurationitem WHERE source = %s", [FEED])
        cis = cursor.fetchone()[0]
        cursor.execute(f"SELECT count(*) FROM configuration_ciidentifier WHERE ci_id IN ({ids})", [FEED])  # noqa: S608
        identifiers = cursor.fetchone()[0]
        cursor.execute(
            f"SELECT count(*) FROM configuration_relationship WHERE source_id IN ({ids})",  # noqa: S608
            [FEED],
        )
        relationships = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM configuration_configurationitem")
        all_cis = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM configuration_relationship")
        all_relationships = cursor.fetchone()[0]
    return {
        "cis": cis,
        "identifiers": identifiers,
        "relationships": relationships,
        "all_cis": all_cis,
        "all_relationships": all_relationships,
    }


def _import(estate: Estate, deadline: float) -> dict:
    """Import the items not there yet, in calls of BATCH items; the timed part of the benchmark."""
    from configuration.imports import import_items
    from configuration.models import CIIdentifier

    present = set(CIIdentifier.objects.filter(ci__source=FEED).values_list("scheme", "value"))
    todo = [index for index, key in enumerate(estate.keys) if key not in present]
    _log(f"{len(present)} identifiers already there; importing {len(todo)} of {len(estate.items)} CIs")
    batches, errors = [], []
    done = 0
    for start in range(0, len(todo), BATCH):
        if time.monotonic() > deadline:
            _log("seeding time limit reached; a later run resumes")
            break
        chunk = [estate.items[index] for index in todo[start : start + BATCH]]
        relationships = sum(len(item.get("relationships", ())) for item in chunk)
        began = time.perf_counter()
        report = import_items(actor=None, source=FEED, items=chunk).as_dict()
        elapsed = time.perf_counter() - began
        batches.append(
            {
                "items": len(chunk),
                "relationships": relationships,
                "seconds": elapsed,
                "created": report["created"],
                "errors": report["errors"],
            }
        )
        if report["errors"] or report["created"] != len(chunk):
            errors += [row for row in report["rows"] if row["status"] == "error"][:5]
            _log(f"batch at {start}: {report['created']} created, {report['errors']} errors: {errors[:2]}")
            break
        done += len(chunk)
        total = sum(batch["seconds"] for batch in batches)
        _log(
            f"imported {done}/{len(todo)} CIs ({relationships} relationships in this call): "
            f"{elapsed:.2f} s for this call, {done / total:,.0f} CIs/s so far"
        )
    return _import_figures(batches, errors)


def _import_figures(batches: list[dict], errors: list[dict]) -> dict:
    def rate(selected: list[dict], what: str) -> float | None:
        seconds = sum(batch["seconds"] for batch in selected)
        return round(sum(batch[what] for batch in selected) / seconds, 1) if seconds else None

    plain = [batch for batch in batches if not batch["relationships"]]
    related = [batch for batch in batches if batch["relationships"]]
    latencies = sorted(batch["seconds"] for batch in batches)
    return {
        "calls": len(batches),
        "batch_size": BATCH,
        "cis_created": sum(batch["created"] for batch in batches),
        "relationships_in_items": sum(batch["relationships"] for batch in related),
        "seconds": round(sum(batch["seconds"] for batch in batches), 2),
        "cis_per_s": rate(batches, "created"),
        "cis_per_s_without_relationships": rate(plain, "created"),
        "cis_per_s_with_relationships": rate(related, "created"),
        "relationships_per_s_in_items": rate(related, "relationships"),
        "call_p50_ms": _percentile(latencies, 0.5),
        "call_p95_ms": _percentile(latencies, 0.95),
        "call_max_ms": round(latencies[-1] * 1000, 1) if latencies else 0.0,
        "errors": errors,
    }


def _bulk_relationships(estate: Estate) -> dict:
    """Insert the wiring in chunks of REL_CHUNK with ``ON CONFLICT DO NOTHING`` (resumable)."""
    from django.db import connection, transaction

    from configuration.models import CIIdentifier, RelationshipType

    ids = {
        (scheme, value): ci_id
        for scheme, value, ci_id in CIIdentifier.objects.filter(ci__source=FEED).values_list(
            "scheme", "value", "ci_id"
        )
    }
    types = dict(RelationshipType.objects.values_list("slug", "pk"))
    edges = sorted(
        (ids[estate.keys[source]], ids[estate.keys[target]], types[rel_type])
        for source, target, rel_type in estate.bulk_relationships
    )
    inserted, began = 0, time.perf_counter()
    sql = """
        INSERT INTO configuration_relationship (source_id, target_id, type_id, description, created_at, updated_at,
                                                version)
        SELECT s, t, ty, '', now(), now(), 1 FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[]) AS e(s, t, ty)
        ON CONFLICT DO NOTHING
    """
    for start in range(0, len(edges), REL_CHUNK):
        chunk = edges[start : start + REL_CHUNK]
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [[e[0] for e in chunk], [e[1] for e in chunk], [e[2] for e in chunk]])
            inserted += cursor.rowcount
    elapsed = time.perf_counter() - began
    _log(f"bulk relationships: {inserted} inserted of {len(edges)} in {elapsed:.1f} s")
    return {
        "method": "INSERT ... SELECT FROM unnest(...) ON CONFLICT DO NOTHING, chunks of "
        f"{REL_CHUNK}, no history rows",
        "generated": len(edges),
        "inserted": inserted,
        "seconds": round(elapsed, 2),
        "per_s": round(inserted / elapsed, 1) if elapsed and inserted else None,
    }


def _analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table in WRITTEN_TABLES:
            cursor.execute(f"ANALYZE {table}")


def _leaves(count: int = LEAVES_PER_KIND) -> dict[str, list[int]]:
    """Random (fixed seed) local disks and access switches of the feed: leaf CIs for impact analysis."""
    from configuration.models import CIIdentifier

    rng = random.Random(SEED + 1)
    result = {}
    for kind, prefix in (("disk", "bench-dsk-"), ("access_switch", "bench-acc-")):
        pool = sorted(
            CIIdentifier.objects.filter(ci__source=FEED, value__startswith=prefix).values_list(
                "ci_id", flat=True
            )
        )
        result[kind] = rng.sample(pool, min(count, len(pool)))
    return result


def seed_cmdb() -> dict:
    """Inside Django: the agent, the estate (resumably) and the figures of the import."""
    from configuration.models import CIClass

    factor = scale()
    deadline = time.monotonic() + float(os.environ.get("BENCH_CMDB_SEED_MAX_S", "3600"))
    access = _agent()
    began = time.perf_counter()
    estate = generate(factor)
    generated_in = time.perf_counter() - began
    expected = {
        "cis": len(estate.items),
        "identifiers": sum(len(item["identifiers"]) for item in estate.items),
        "relationships": estate.relationship_count,
    }
    _log(
        f"scale {factor}: generated {expected['cis']} CIs, {expected['relationships']} relationships "
        f"({len(estate.imported_relationships)} in the import items) in {generated_in:.1f} s"
    )
    state = _state()
    counts = _counts()
    reseed = os.environ.get("BENCH_CMDB_RESEED") == "1"
    if counts["cis"] and (state.get("scale") != factor or reseed):
        _wipe()
        state, counts = {}, _counts()
    if all(counts[key] == expected[key] for key in expected) and state.get("complete"):
        _log("already seeded at this scale; skipping the import")
        import_figures, bulk_figures = state["import"], state["bulk_relationships"]
        import_figures["measured_in_an_earlier_run"] = True
    else:
        import_figures = _import(estate, deadline)
        if (
            state.get("scale") == factor
            and state.get("import", {}).get("cis_created")
            and not import_figures["calls"]
        ):
            import_figures = state["import"]  # nothing left to import: keep the earlier figures
        bulk_figures = _bulk_relationships(estate) if not import_figures["errors"] else {}
        _analyze()
        counts = _counts()
        complete = all(counts[key] == expected[key] for key in expected)
        _save_state(
            {
                "scale": factor,
                "import": import_figures,
                "bulk_relationships": bulk_figures,
                "complete": complete,
                "expected": expected,
            }
        )
    exact = {
        key: {"expected": expected[key], "found": counts[key], "ok": counts[key] == expected[key]}
        for key in expected
    }
    classes = dict(CIClass.objects.values_list("slug", "pk"))
    return {
        **access,
        "scale": factor,
        "seed": SEED,
        "feed": FEED,
        "layers": {name: len(indexes) for name, indexes in estate.layers.items()},
        "relationships": {
            "in_import_items": len(estate.imported_relationships),
            "bulk_inserted": len(estate.bulk_relationships),
            "explicit_3_cycles": estate.cycles,
            "total": estate.relationship_count,
        },
        "exact_counts": exact,
        "exact_counts_ok": all(entry["ok"] for entry in exact.values()),
        "database_totals": {"cis": counts["all_cis"], "relationships": counts["all_relationships"]},
        "import": import_figures,
        "bulk_relationship_insert": bulk_figures,
        "storage_class_id": classes.get("storage"),
        "leaves": _leaves(),
    }


def impact_in_process() -> dict:
    """Inside Django: ``queries.impact_analysis`` from the leaves (bounded by count and time)."""
    from django.db import DatabaseError, transaction

    from configuration import queries
    from configuration.models import ConfigurationItem

    leaves = _leaves()
    order = [ci_id for pair in zip(leaves["disk"], leaves["access_switch"], strict=False) for ci_id in pair]
    latencies, reached, loaded, services, truncated, errors = [], [], [], [], 0, []
    deadline = time.monotonic() + IN_PROCESS_SECONDS
    for ci_id in order[:IN_PROCESS_IMPACTS]:
        if time.monotonic() > deadline:
            break
        began = time.perf_counter()
        try:
            with transaction.atomic():
                ci = ConfigurationItem.objects.get(pk=ci_id)
                result = queries.impact_analysis(ci, direction="impacts")
        except DatabaseError as error:  # e.g. the statement timeout
            latencies.append(time.perf_counter() - began)
            errors.append(f"CI {ci_id}: {str(error).strip()[:120]}")
            continue
        latencies.append(time.perf_counter() - began)
        reached.append(getattr(result, "reached", 0) or len(result.nodes))  # every CI reached
        loaded.append(len(result.nodes))
        services.append(len(result.services))
        truncated += result.truncated
    ordered = sorted(latencies)
    reached_sorted = sorted(reached)
    duration = sum(latencies)
    return {
        "name": "impact_in_process",
        "path": "configuration.queries.impact_analysis(ci, direction='impacts')",
        "concurrency": 1,
        "requests": len(latencies),
        "errors": len(errors),
        "error_messages": errors[:5],
        "duration_s": round(duration, 3),
        "rate_per_s": round(len(latencies) / duration, 1) if duration else 0.0,
        "mean_ms": round(duration / len(latencies) * 1000, 3) if latencies else 0.0,
        "p50_ms": _percentile(ordered, 0.5),
        "p95_ms": _percentile(ordered, 0.95),
        "p99_ms": _percentile(ordered, 0.99),
        "max_ms": round(ordered[-1] * 1000, 3) if ordered else 0.0,
        "nodes_reached_p50": reached_sorted[len(reached_sorted) // 2] if reached_sorted else 0,
        "nodes_reached_max": reached_sorted[-1] if reached_sorted else 0,
        "nodes_loaded_p50": sorted(loaded)[len(loaded) // 2] if loaded else 0,
        "services_reached_p50": sorted(services)[len(services) // 2] if services else 0,
        "truncated": truncated,
    }


# ------------------------------------------------------------------------- outside Django: the run


def seed(env: dict[str, str]) -> dict:
    """Seed the estate, then time impact analysis in process (before the server shares the cores).

    Also collects static files (as ``make run`` does before gunicorn; the HTML page needs the
    manifest) and, from here on, caps every statement of the bench processes, gunicorn's included,
    at ``STATEMENT_TIMEOUT_MS`` through ``PGOPTIONS`` (``env`` is the runner's, shared with gunicorn).
    """
    limit = float(env.get("BENCH_CMDB_SEED_MAX_S", "3600")) + 900
    seeded = call_in_django(env, "bench.cmdb:seed_cmdb", timeout=limit)
    print(
        f"[cmdb] import: {seeded['import'].get('cis_per_s')} CIs/s; exact counts ok: {seeded['exact_counts_ok']}",
        flush=True,
    )
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=BASE_DIR,
        env=env,
        check=True,
        timeout=600,
    )
    env["PGOPTIONS"] = f"{env.get('PGOPTIONS', '')} -c statement_timeout={STATEMENT_TIMEOUT_MS}".strip()
    seeded["statement_timeout_ms"] = STATEMENT_TIMEOUT_MS
    seeded["impact_in_process"] = call_in_django(
        env, "bench.cmdb:impact_in_process", timeout=IN_PROCESS_SECONDS + 300
    )
    return seeded


def _load_paths(
    port: int,
    name: str,
    paths: list[str],
    headers: dict[str, str],
    concurrency: int,
    total: int,
    max_duration: float,
) -> dict:
    """Like ``loadgen.run_load`` but cycling through ``paths`` (one per request), bounded the same way."""
    workers = [_Worker(port, paths[0], dict(headers), 60.0) for _ in range(concurrency)]
    lock, issued, clock = threading.Lock(), [0], {}
    barrier = threading.Barrier(concurrency, action=lambda: clock.setdefault("start", time.perf_counter()))

    def claim() -> int | None:
        with lock:
            if issued[0] >= total or time.perf_counter() >= clock["start"] + max_duration:
                return None
            issued[0] += 1
            return issued[0] - 1

    def loop(worker: _Worker, offset: int) -> None:
        try:
            for step in range(-(-min(WARMUP, len(paths)) // concurrency)):
                worker.path = paths[(offset + step * concurrency) % len(paths)]
                worker.request(record=False)
            barrier.wait()
            while (number := claim()) is not None:
                worker.path = paths[number % len(paths)]
                worker.request(record=True)
        except threading.BrokenBarrierError:
            pass
        except BaseException:
            barrier.abort()
            raise
        finally:
            worker.finished_at = time.perf_counter()
            worker.connection.close()

    threads = [
        threading.Thread(target=loop, args=(worker, offset), daemon=True)
        for offset, worker in enumerate(workers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if "start" not in clock:
        raise RuntimeError(f"load failed before the measured phase ({name})")
    return _summary(workers, clock["start"], concurrency)


def run(port: int, seeded: dict) -> list[dict]:
    results = [seeded["impact_in_process"]]
    imported = seeded["import"]
    if imported.get("calls"):
        results.insert(
            0,
            {
                "name": "import_cis",
                "path": "configuration.imports.import_items",
                "concurrency": 1,
                "requests": imported["cis_created"],
                "errors": len(imported["errors"]),
                "rate_per_s": imported["cis_per_s"],
                "p50_ms": imported["call_p50_ms"],
                "p95_ms": imported["call_p95_ms"],
                "p99_ms": imported["call_p95_ms"],
                "max_ms": imported["call_max_ms"],
                "note": f"latencies are per call of {BATCH} items",
            },
        )
    token = {"Authorization": f"Token {seeded['token']}", "Accept": "application/json"}
    session = {"Cookie": login(port, AGENT, AGENT_PASSWORD), "Accept": "text/html"}

    # The lists first: an impact request the client gave up on still runs in the server for a while.
    lists = [
        ("ci_list_api", CI_LIST_API, token),
        ("ci_list_api_class", f"{CI_LIST_API}?ci_class={seeded['storage_class_id']}", token),
        ("ci_list_api_attr", f"{CI_LIST_API}?attr=model%3DXYZ-800", token),
        ("ci_list_html", CI_LIST_HTML, session),
    ]
    for name, path, headers in lists:
        status, body = probe(port, path, headers)
        if status != 200:
            print(f"  {name}: GET {path} answered {status}; skipped", flush=True)
            results.append(
                {
                    "name": name,
                    "path": path,
                    "concurrency": 0,
                    "requests": 0,
                    "errors": 0,
                    "rate_per_s": 0.0,
                    "p50_ms": 0.0,
                    "p95_ms": 0.0,
                    "p99_ms": 0.0,
                    "max_ms": 0.0,
                    "unavailable": f"{status}: {body[:200].decode(errors='replace')}",
                }
            )
            continue
        rows = None
        if name.startswith("ci_list_api"):
            rows = len(json.loads(body).get("results", []))
        for concurrency in LIST_CONCURRENCIES:
            print(f"  {name} at concurrency {concurrency} ...", flush=True)
            figures = run_load(
                port,
                path,
                headers=headers,
                concurrency=concurrency,
                total=LIST_REQUESTS,
                max_duration=LIST_SECONDS,
                warmup=WARMUP,
            )
            results.append(
                {"name": name, "path": path, "rows_per_page": rows, "response_bytes": len(body), **figures}
            )
    leaves = [
        ci_id
        for pair in zip(seeded["leaves"]["disk"], seeded["leaves"]["access_switch"], strict=False)
        for ci_id in pair
    ]
    impact_paths = [IMPACT_API.format(id=ci_id) for ci_id in leaves]
    status, body = probe(port, impact_paths[0], token, timeout=STATEMENT_TIMEOUT_MS / 1000 + 30)
    if status != 404:
        for concurrency in IMPACT_CONCURRENCIES:
            print(f"  impact_api at concurrency {concurrency} ...", flush=True)
            figures = _load_paths(
                port, "impact_api", impact_paths, token, concurrency, IMPACT_REQUESTS, IMPACT_SECONDS
            )
            results.append(
                {
                    "name": "impact_api",
                    "path": IMPACT_API,
                    "leaves": len(leaves),
                    "response_bytes_first": len(body),
                    **figures,
                }
            )
    else:
        print(
            f"  impact API not available yet ({status}: {body[:120]!r}); in-process figures only", flush=True
        )
        results.append(
            {
                "name": "impact_api",
                "path": IMPACT_API,
                "concurrency": 0,
                "requests": 0,
                "errors": 0,
                "rate_per_s": 0.0,
                "p50_ms": 0.0,
                "p95_ms": 0.0,
                "p99_ms": 0.0,
                "max_ms": 0.0,
                "unavailable": f"{status}: {body[:200].decode(errors='replace')}",
            }
        )

    return results
