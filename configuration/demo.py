"""Demo data for the CMDB: a small, realistic estate around four business services.

Business services (Payroll, Online shop, E-mail and collaboration, Customer support portal) used by
the demo organisations, three technical services (Identity and single sign-on, Database platform,
Network), the applications behind them, the VMs and hypervisors they run on, databases, installed
software, network devices, disks and a SAN, a backup server, a data centre and a few documents.

Everything is written through ``configuration.services`` (so every CI and relationship has its
history) with no actor. Idempotent: a CI that exists (same class and name, or one of its
identifiers) and a relationship that exists are left alone, so a second run creates nothing.
Run after the people demo: owner groups and consuming organisations are looked up by name and
code and simply left empty when missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from configuration import services
from configuration.choices import CIStatus, Criticality, Environment
from configuration.models import CIClass, CIIdentifier, ConfigurationItem, Relationship, RelationshipType
from people.models import Organisation, SupportGroup

DESK = "Service desk"
INFRA = "Infrastructure (2nd line)"
APPS = "Business applications"

CRITICAL, HIGH, MEDIUM, LOW = Criticality.CRITICAL, Criticality.HIGH, Criticality.MEDIUM, Criticality.LOW


@dataclass(frozen=True)
class DemoCI:
    key: str  # how relationships below refer to it
    ci_class: str  # class slug (configuration.defaults)
    name: str
    identifiers: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=dict)
    owner: str | None = INFRA
    criticality: int = MEDIUM
    status: str = CIStatus.LIVE
    environment: str = Environment.PRODUCTION
    organisations: tuple[str, ...] = ()  # organisation codes (consumers of a service)
    description: str = ""


def _server(
    key: str,
    name: str,
    ip: str,
    *,
    serial: str,
    os: str = "Ubuntu",
    os_version: str = "22.04",
    cores: int = 16,
    memory: int = 64,
    model: str = "PowerEdge R650",
    secret: bool = False,
    criticality: int = HIGH,
    description: str = "",
) -> DemoCI:
    attributes: dict[str, Any] = {
        "manufacturer": "Dell",
        "model": model,
        "os": os,
        "os_version": os_version,
        "cpu_cores": cores,
        "memory_gb": memory,
        "ip_address": ip,
    }
    if secret:
        attributes["admin_credentials_ref"] = f"vault:secret/{name}"
    return DemoCI(
        key,
        "server",
        name,
        {"hostname": name, "serial": serial, "fqdn": f"{name}.dc1.example.com"},
        attributes,
        criticality=criticality,
        description=description,
    )


def _vm(
    key: str,
    name: str,
    ip: str,
    *,
    cores: int = 4,
    memory: int = 16,
    os: str = "Ubuntu",
    os_version: str = "22.04",
    owner: str = INFRA,
    criticality: int = HIGH,
    secret: bool = False,
    environment: str = Environment.PRODUCTION,
) -> DemoCI:
    attributes: dict[str, Any] = {
        "os": os,
        "os_version": os_version,
        "cpu_cores": cores,
        "memory_gb": memory,
        "ip_address": ip,
        "cloud_provider": "on-premises (vSphere)",
    }
    if secret:
        attributes["admin_credentials_ref"] = f"vault:secret/{name}"
    return DemoCI(
        key,
        "virtual-machine",
        name,
        {"hostname": name, "fqdn": f"{name}.dc1.example.com"},
        attributes,
        owner=owner,
        criticality=criticality,
        environment=environment,
    )


def _disk(
    key: str,
    name: str,
    serial: str,
    *,
    model: str,
    capacity: int,
    manufacturer: str = "Kioxia",
    firmware: str = "1.2.0",
) -> DemoCI:
    return DemoCI(
        key,
        "storage",
        name,
        {"serial": serial},
        {"manufacturer": manufacturer, "model": model, "capacity_gb": capacity, "firmware_version": firmware},
    )


ESTATE: list[DemoCI] = [
    # -- where it all is
    DemoCI(
        "dc1",
        "location",
        "London data centre (DC1)",
        {"site_code": "LDN-DC1"},
        {"address": "Unit 4, 12 Docklands Way, London E14"},
        criticality=CRITICAL,
    ),
    # -- business services and their consumers
    DemoCI(
        "payroll",
        "business-service",
        "Payroll",
        {},
        {"service_hours": "Mon-Fri 07:00-19:00", "business_owner": "Head of Finance"},
        owner=APPS,
        criticality=CRITICAL,
        organisations=("fin",),
        description="Monthly and off-cycle payroll runs, payslips and tax filings.",
    ),
    DemoCI(
        "shop",
        "business-service",
        "Online shop",
        {},
        {"service_hours": "24x7", "business_owner": "Head of Sales"},
        owner=APPS,
        criticality=CRITICAL,
        organisations=("sales",),
        description="The public web shop: catalogue, basket, checkout and order tracking.",
    ),
    DemoCI(
        "email",
        "business-service",
        "E-mail and collaboration",
        {},
        {"service_hours": "24x7", "business_owner": "CIO"},
        owner=INFRA,
        criticality=HIGH,
        organisations=("fin", "sales", "it"),
        description="Mailboxes, calendars and team chat for every employee.",
    ),
    DemoCI(
        "portal",
        "business-service",
        "Customer support portal",
        {},
        {"service_hours": "Mon-Sat 08:00-20:00", "business_owner": "Head of Customer Care"},
        owner=APPS,
        criticality=HIGH,
        organisations=("sales", "it"),
        description="Where customers raise and follow their support cases.",
    ),
    # -- technical services
    DemoCI(
        "sso",
        "technical-service",
        "Identity and single sign-on",
        {},
        {"service_hours": "24x7"},
        owner=INFRA,
        criticality=CRITICAL,
        description="Keycloak realms for staff and customers (SAML/OIDC).",
    ),
    DemoCI(
        "dbplatform",
        "technical-service",
        "Database platform",
        {},
        {"service_hours": "24x7"},
        owner=INFRA,
        criticality=CRITICAL,
        description="Managed PostgreSQL and MySQL instances.",
    ),
    DemoCI(
        "network",
        "technical-service",
        "Network",
        {},
        {"service_hours": "24x7"},
        owner=INFRA,
        criticality=CRITICAL,
        description="Data-centre LAN, internet edge, firewalling, load balancing.",
    ),
    # -- applications
    DemoCI(
        "payflow",
        "application",
        "PayFlow payroll",
        {"app_id": "payflow"},
        {"vendor": "PayFlow Ltd", "version": "7.2.1", "url": "https://payroll.example.com"},
        owner=APPS,
        criticality=CRITICAL,
    ),
    DemoCI(
        "shopfront",
        "application",
        "Shopfront web",
        {"app_id": "shopfront"},
        {"vendor": "In-house", "version": "2.4.1", "url": "https://shop.example.com"},
        owner=APPS,
        criticality=CRITICAL,
    ),
    DemoCI(
        "orders",
        "application",
        "Order service",
        {"app_id": "order-service"},
        {"vendor": "In-house", "version": "2.4.1"},
        owner=APPS,
        criticality=CRITICAL,
    ),
    DemoCI(
        "mail",
        "application",
        "Mail server (Postfix/Dovecot)",
        {"app_id": "mail"},
        {"vendor": "Open source", "version": "3.8.4"},
        owner=INFRA,
        criticality=HIGH,
    ),
    DemoCI(
        "chat",
        "application",
        "Team chat (Mattermost)",
        {"app_id": "mattermost"},
        {"vendor": "Mattermost", "version": "9.5.2", "url": "https://chat.example.com"},
        owner=INFRA,
    ),
    DemoCI(
        "supportapp",
        "application",
        "Support portal",
        {"app_id": "support-portal"},
        {"vendor": "In-house", "version": "3.1.0", "url": "https://support.example.com"},
        owner=APPS,
        criticality=HIGH,
    ),
    DemoCI(
        "keycloak",
        "application",
        "Keycloak",
        {"app_id": "keycloak"},
        {"vendor": "Red Hat", "version": "24.0.3", "url": "https://login.example.com"},
        criticality=CRITICAL,
    ),
    # -- physical servers (hypervisors, database hosts, backup)
    _server(
        "esx01",
        "esx-01",
        "10.10.1.11",
        serial="DL-7Q2K9A1",
        os="VMware ESXi",
        os_version="8.0 U2",
        cores=48,
        memory=768,
        model="PowerEdge R760",
        secret=True,
        criticality=CRITICAL,
        description="vSphere cluster CL-PROD, host 1.",
    ),
    _server(
        "esx02",
        "esx-02",
        "10.10.1.12",
        serial="DL-7Q2K9A2",
        os="VMware ESXi",
        os_version="8.0 U2",
        cores=48,
        memory=768,
        model="PowerEdge R760",
        secret=True,
        criticality=CRITICAL,
        description="vSphere cluster CL-PROD, host 2.",
    ),
    _server(
        "db01",
        "srv-db-01",
        "10.10.2.21",
        serial="DL-5M8P3C7",
        os="Red Hat Enterprise Linux",
        os_version="9.3",
        cores=32,
        memory=256,
        secret=True,
        criticality=CRITICAL,
        description="Primary PostgreSQL host.",
    ),
    _server(
        "db02",
        "srv-db-02",
        "10.10.2.22",
        serial="DL-5M8P3C8",
        os="Red Hat Enterprise Linux",
        os_version="9.3",
        cores=32,
        memory=256,
        secret=True,
        description="MySQL host and PostgreSQL replica.",
    ),
    _server(
        "backup",
        "srv-backup-01",
        "10.10.3.31",
        serial="HP-CZ2201X9",
        cores=16,
        memory=64,
        model="PowerEdge R550",
        criticality=MEDIUM,
        description="Backup server (Bareos), 14-day retention.",
    ),
    # -- virtual machines
    _vm(
        "vm_payroll",
        "vm-payroll-app-01",
        "10.20.1.31",
        cores=8,
        memory=32,
        os="Windows Server",
        os_version="2022",
        owner=APPS,
        criticality=CRITICAL,
        secret=True,
    ),
    _vm("vm_web1", "vm-shop-web-01", "10.20.2.11", owner=APPS, criticality=CRITICAL),
    _vm("vm_web2", "vm-shop-web-02", "10.20.2.12", owner=APPS, criticality=CRITICAL),
    _vm("vm_api", "vm-shop-api-01", "10.20.2.21", cores=8, memory=32, owner=APPS, criticality=CRITICAL),
    _vm("vm_mail", "vm-mail-01", "10.20.3.11", cores=8, memory=32),
    _vm("vm_chat", "vm-chat-01", "10.20.3.21"),
    _vm("vm_portal", "vm-portal-01", "10.20.4.11", owner=APPS),
    _vm("vm_idp1", "vm-idp-01", "10.20.5.11", criticality=CRITICAL, secret=True),
    _vm("vm_idp2", "vm-idp-02", "10.20.5.12", criticality=CRITICAL),
    _vm(
        "vm_shop_test",
        "vm-shop-test-01",
        "10.30.2.11",
        owner=APPS,
        criticality=LOW,
        environment=Environment.TEST,
    ),
    # -- databases
    DemoCI(
        "db_payroll",
        "database",
        "payroll-db",
        {"db_id": "pg-payroll"},
        {
            "engine": "postgresql",
            "version": "15.6",
            "size_gb": 180,
            "connection_secret_ref": "vault:secret/db/payroll",
        },
        criticality=CRITICAL,
    ),
    DemoCI(
        "db_shop",
        "database",
        "shop-db",
        {"db_id": "pg-shop"},
        {
            "engine": "postgresql",
            "version": "15.6",
            "size_gb": 420,
            "connection_secret_ref": "vault:secret/db/shop",
        },
        criticality=CRITICAL,
    ),
    DemoCI(
        "db_portal",
        "database",
        "portal-db",
        {"db_id": "mysql-portal"},
        {"engine": "mysql", "version": "8.0.36", "size_gb": 60},
        criticality=HIGH,
    ),
    DemoCI(
        "db_idp",
        "database",
        "keycloak-db",
        {"db_id": "pg-keycloak"},
        {"engine": "postgresql", "version": "15.6", "size_gb": 8},
        criticality=CRITICAL,
    ),
    DemoCI(
        "db_chat",
        "database",
        "chat-db",
        {"db_id": "pg-chat"},
        {"engine": "postgresql", "version": "15.6", "size_gb": 95},
    ),
    # -- installed software
    DemoCI(
        "ssl_web1",
        "software",
        "OpenSSL 3.0.2 on vm-shop-web-01",
        {"software_id": "openssl@vm-shop-web-01"},
        {"vendor": "OpenSSL Project", "version": "3.0.2"},
    ),
    DemoCI(
        "ssl_web2",
        "software",
        "OpenSSL 3.0.2 on vm-shop-web-02",
        {"software_id": "openssl@vm-shop-web-02"},
        {"vendor": "OpenSSL Project", "version": "3.0.2"},
    ),
    DemoCI(
        "pg_db01",
        "software",
        "PostgreSQL server 15.6 on srv-db-01",
        {"software_id": "postgresql@srv-db-01"},
        {"vendor": "PostgreSQL Global Development Group", "version": "15.6"},
    ),
    DemoCI(
        "nginx_web1",
        "software",
        "nginx 1.24.0 on vm-shop-web-01",
        {"software_id": "nginx@vm-shop-web-01"},
        {"vendor": "F5 / nginx", "version": "1.24.0"},
    ),
    DemoCI(
        "win_payroll",
        "software",
        "Windows Server 2022 on vm-payroll-app-01",
        {"software_id": "windows@vm-payroll-app-01"},
        {"vendor": "Microsoft", "version": "21H2", "licence_key_ref": "vault:secret/licences/windows-dc"},
    ),
    # -- network
    DemoCI(
        "core1",
        "network-device",
        "core-sw-01",
        {"hostname": "core-sw-01", "serial": "FOC2231X0AB"},
        {
            "manufacturer": "Cisco",
            "model": "Nexus 93180YC-FX",
            "device_role": "switch",
            "firmware_version": "NX-OS 10.3(4a)",
            "management_ip": "10.0.0.2",
        },
        criticality=CRITICAL,
    ),
    DemoCI(
        "core2",
        "network-device",
        "core-sw-02",
        {"hostname": "core-sw-02", "serial": "FOC2231X0AC"},
        {
            "manufacturer": "Cisco",
            "model": "Nexus 93180YC-FX",
            "device_role": "switch",
            "firmware_version": "NX-OS 10.3(4a)",
            "management_ip": "10.0.0.3",
        },
        criticality=CRITICAL,
    ),
    DemoCI(
        "fw1",
        "network-device",
        "fw-edge-01",
        {"hostname": "fw-edge-01", "serial": "FGT60F-TK1923"},
        {
            "manufacturer": "Fortinet",
            "model": "FortiGate 200F",
            "device_role": "firewall",
            "firmware_version": "FortiOS 7.4.3",
            "management_ip": "10.0.0.10",
        },
        criticality=CRITICAL,
    ),
    DemoCI(
        "lb1",
        "network-device",
        "lb-01",
        {"hostname": "lb-01", "serial": "F5-BIG-88120"},
        {
            "manufacturer": "F5",
            "model": "BIG-IP i5800",
            "device_role": "load-balancer",
            "firmware_version": "17.1.1",
            "management_ip": "10.0.0.20",
        },
        criticality=CRITICAL,
    ),
    DemoCI(
        "rtr1",
        "network-device",
        "rtr-edge-01",
        {"hostname": "rtr-edge-01", "serial": "JN-MX204-4411"},
        {
            "manufacturer": "Juniper",
            "model": "MX204",
            "device_role": "router",
            "firmware_version": "Junos 23.2R1",
            "management_ip": "10.0.0.1",
        },
        criticality=CRITICAL,
    ),
    # -- storage
    DemoCI(
        "san",
        "storage",
        "san-01",
        {"serial": "NTAP-AFF-A250-001"},
        {
            "manufacturer": "NetApp",
            "model": "AFF A250",
            "capacity_gb": 92160,
            "firmware_version": "ONTAP 9.14.1",
        },
        criticality=CRITICAL,
    ),
    _disk("disk_db01_a", "srv-db-01 disk 0", "KX-800-00017", model="XYZ-800", capacity=3840),
    _disk("disk_db01_b", "srv-db-01 disk 1", "KX-800-00018", model="XYZ-800", capacity=3840),
    _disk(
        "disk_db02_a", "srv-db-02 disk 0", "KX-800-00311", model="XYZ-800", capacity=3840, firmware="1.1.4"
    ),
    _disk(
        "disk_backup",
        "srv-backup-01 disk 0",
        "ST-16T-99812",
        model="Exos X16",
        capacity=16000,
        manufacturer="Seagate",
        firmware="SN04",
    ),
    # -- documents
    DemoCI(
        "doc_payroll",
        "document",
        "Payroll run book",
        {"document_id": "DOC-PAY-001"},
        {"url": "https://wiki.example.com/runbooks/payroll", "document_version": "4"},
        owner=APPS,
        criticality=LOW,
    ),
    DemoCI(
        "doc_network",
        "document",
        "Data-centre network diagram",
        {"document_id": "DOC-NET-002"},
        {"url": "https://wiki.example.com/network/dc1", "document_version": "12"},
        criticality=LOW,
    ),
    DemoCI(
        "doc_dr",
        "document",
        "Disaster recovery plan",
        {"document_id": "DOC-DR-001"},
        {"url": "https://wiki.example.com/continuity/dr-plan", "document_version": "3"},
        owner=DESK,
        criticality=LOW,
    ),
]

# (source key, relationship type slug, target key): "source <forward label> target".
RELATIONSHIPS: list[tuple[str, str, str]] = [
    # business services need their applications and the technical services
    ("payroll", "depends-on", "payflow"),
    ("shop", "depends-on", "shopfront"),
    ("shop", "depends-on", "orders"),
    ("email", "depends-on", "mail"),
    ("email", "depends-on", "chat"),
    ("portal", "depends-on", "supportapp"),
    *[(service, "depends-on", "sso") for service in ("payroll", "shop", "email", "portal")],
    *[(service, "depends-on", "network") for service in ("shop", "email", "portal")],
    ("sso", "depends-on", "keycloak"),
    ("dbplatform", "depends-on", "db01"),
    ("dbplatform", "depends-on", "db02"),
    ("network", "depends-on", "core1"),
    ("network", "depends-on", "core2"),
    ("network", "depends-on", "fw1"),
    ("network", "depends-on", "rtr1"),
    # applications: where they run and what they need
    ("payflow", "runs-on", "vm_payroll"),
    ("payflow", "depends-on", "db_payroll"),
    ("shopfront", "runs-on", "vm_web1"),
    ("shopfront", "runs-on", "vm_web2"),
    ("shopfront", "depends-on", "orders"),
    ("shopfront", "depends-on", "lb1"),
    ("orders", "runs-on", "vm_api"),
    ("orders", "depends-on", "db_shop"),
    ("mail", "runs-on", "vm_mail"),
    ("chat", "runs-on", "vm_chat"),
    ("chat", "depends-on", "db_chat"),
    ("supportapp", "runs-on", "vm_portal"),
    ("supportapp", "depends-on", "db_portal"),
    ("keycloak", "runs-on", "vm_idp1"),
    ("keycloak", "runs-on", "vm_idp2"),
    ("keycloak", "depends-on", "db_idp"),
    # databases on their hosts
    ("db_payroll", "runs-on", "db01"),
    ("db_shop", "runs-on", "db01"),
    ("db_idp", "runs-on", "db01"),
    ("db_chat", "runs-on", "db02"),
    ("db_portal", "runs-on", "db02"),
    # VMs on the hypervisors
    *[
        (vm, "runs-on", "esx01")
        for vm in ("vm_payroll", "vm_web1", "vm_api", "vm_mail", "vm_idp1", "vm_shop_test")
    ],
    *[(vm, "runs-on", "esx02") for vm in ("vm_web2", "vm_chat", "vm_portal", "vm_idp2")],
    # installed software
    ("ssl_web1", "runs-on", "vm_web1"),
    ("ssl_web2", "runs-on", "vm_web2"),
    ("nginx_web1", "runs-on", "vm_web1"),
    ("pg_db01", "runs-on", "db01"),
    ("win_payroll", "runs-on", "vm_payroll"),
    ("shopfront", "depends-on", "ssl_web1"),
    ("shopfront", "depends-on", "ssl_web2"),
    # the network: servers on the core switches, the edge behind the firewall
    *[(server, "connected-to", "core1") for server in ("esx01", "esx02", "db01", "db02", "backup")],
    *[(server, "connected-to", "core2") for server in ("esx01", "esx02", "db01")],
    ("core1", "connected-to", "core2"),
    ("fw1", "connected-to", "core1"),
    ("lb1", "connected-to", "core1"),
    ("fw1", "connected-to", "rtr1"),  # the firewall depends on the upstream router
    # disks and the SAN belong to their servers
    ("disk_db01_a", "part-of", "db01"),
    ("disk_db01_b", "part-of", "db01"),
    ("disk_db02_a", "part-of", "db02"),
    ("disk_backup", "part-of", "backup"),
    ("san", "part-of", "esx01"),
    ("san", "part-of", "esx02"),
    # backups
    *[
        (ci, "backed-up-by", "backup")
        for ci in ("db01", "db02", "vm_payroll", "vm_mail", "db_payroll", "db_shop")
    ],
    # hardware in the data centre
    *[
        (ci, "located-in", "dc1")
        for ci in ("esx01", "esx02", "db01", "db02", "backup", "core1", "core2", "fw1", "lb1", "rtr1", "san")
    ],
    # documentation
    ("payroll", "documented-by", "doc_payroll"),
    ("network", "documented-by", "doc_network"),
    ("payroll", "documented-by", "doc_dr"),
    ("shop", "documented-by", "doc_dr"),
]


def _existing(spec: DemoCI, ci_class: CIClass) -> ConfigurationItem | None:
    """The CI this spec describes if it is already there: same class and name, or an identifier."""
    found = ConfigurationItem.objects.filter(ci_class=ci_class, name=spec.name).first()
    if found is None and spec.identifiers:
        identifier = (
            CIIdentifier.objects.select_related("ci")
            .filter(
                ci__ci_class=ci_class,
                scheme__in=list(spec.identifiers),
                value__in=list(spec.identifiers.values()),
            )
            .first()
        )
        found = identifier.ci if identifier else None
    return found


@transaction.atomic
def load_demo() -> str:
    classes = {ci_class.slug: ci_class for ci_class in CIClass.objects.all()}
    types = {rel_type.slug: rel_type for rel_type in RelationshipType.objects.all()}
    groups = {group.name: group for group in SupportGroup.objects.filter(name__in=[DESK, INFRA, APPS])}
    organisations = {org.code: org for org in Organisation.objects.filter(code__in=["fin", "sales", "it"])}

    items: dict[str, ConfigurationItem] = {}
    created = 0
    for spec in ESTATE:
        ci_class = classes[spec.ci_class]
        ci = _existing(spec, ci_class)
        if ci is None:
            ci = services.ci_create(
                actor=None,
                ci_class=ci_class,
                name=spec.name,
                attributes=spec.attributes,
                identifiers=spec.identifiers,
                description=spec.description,
                status=spec.status,
                environment=spec.environment,
                criticality=spec.criticality,
                owner_group=groups.get(spec.owner),
                organisations=[organisations[code] for code in spec.organisations if code in organisations],
            )
            created += 1
        items[spec.key] = ci

    existing = set(
        Relationship.objects.filter(source__in=list(items.values())).values_list(
            "source_id", "target_id", "type_id"
        )
    )
    related = 0
    for source_key, type_slug, target_key in RELATIONSHIPS:
        source, target, rel_type = items[source_key], items[target_key], types[type_slug]
        if (source.pk, target.pk, rel_type.pk) in existing:
            continue
        services.relationship_create(actor=None, source=source, target=target, type=rel_type)
        existing.add((source.pk, target.pk, rel_type.pk))
        related += 1
    return (
        f"{created} configuration items and {related} relationships created "
        f"({ConfigurationItem.objects.count()} CIs, {Relationship.objects.count()} relationships in the CMDB)"
    )
