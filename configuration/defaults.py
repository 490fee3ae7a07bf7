"""The default CI classes and relationship types every installation starts with.

Loaded by a data migration (so they exist everywhere, not only with demo data) and idempotent.
"""

from __future__ import annotations

# (slug, name, parent slug, is_service, icon, identifier keys, attributes)
# attribute: (key, label, type, required, sensitive, choices)
CLASSES = [
    (
        "service",
        "Service",
        None,
        True,
        "diagram-3",
        [],
        [
            ("service_hours", "Service hours", "string", False, False, []),
        ],
    ),
    (
        "business-service",
        "Business service",
        "service",
        True,
        "briefcase",
        [],
        [
            ("business_owner", "Business owner", "string", False, False, []),
        ],
    ),
    ("technical-service", "Technical service", "service", True, "gear-wide-connected", [], []),
    (
        "application",
        "Application",
        None,
        False,
        "window",
        ["app_id"],
        [
            ("url", "URL", "url", False, False, []),
            ("vendor", "Vendor", "string", False, False, []),
            ("version", "Version", "string", False, False, []),
        ],
    ),
    (
        "software",
        "Software",
        None,
        False,
        "box-seam",
        ["software_id"],
        [
            ("vendor", "Vendor", "string", False, False, []),
            ("version", "Version", "string", True, False, []),
            ("licence_key_ref", "Licence key reference", "string", False, True, []),
        ],
    ),
    (
        "hardware",
        "Hardware",
        None,
        False,
        "cpu",
        ["serial"],
        [
            ("manufacturer", "Manufacturer", "string", False, False, []),
            ("model", "Model", "string", False, False, []),
        ],
    ),
    (
        "server",
        "Server",
        "hardware",
        False,
        "hdd-rack",
        ["hostname", "serial", "fqdn"],
        [
            ("os", "Operating system", "string", False, False, []),
            ("os_version", "OS version", "string", False, False, []),
            ("cpu_cores", "CPU cores", "integer", False, False, []),
            ("memory_gb", "Memory (GB)", "decimal", False, False, []),
            ("ip_address", "IP address", "ip", False, False, []),
            ("admin_credentials_ref", "Admin credentials reference", "string", False, True, []),
        ],
    ),
    (
        "virtual-machine",
        "Virtual machine",
        None,
        False,
        "pc-display",
        ["hostname", "cloud_id", "fqdn"],
        [
            ("os", "Operating system", "string", False, False, []),
            ("os_version", "OS version", "string", False, False, []),
            ("cpu_cores", "CPU cores", "integer", False, False, []),
            ("memory_gb", "Memory (GB)", "decimal", False, False, []),
            ("ip_address", "IP address", "ip", False, False, []),
            ("cloud_provider", "Cloud provider", "string", False, False, []),
            ("admin_credentials_ref", "Admin credentials reference", "string", False, True, []),
        ],
    ),
    (
        "database",
        "Database",
        None,
        False,
        "database",
        ["db_id"],
        [
            (
                "engine",
                "Engine",
                "choice",
                True,
                False,
                ["postgresql", "mysql", "mariadb", "oracle", "sqlserver", "mongodb", "other"],
            ),
            ("version", "Version", "string", False, False, []),
            ("size_gb", "Size (GB)", "decimal", False, False, []),
            ("connection_secret_ref", "Connection secret reference", "string", False, True, []),
        ],
    ),
    (
        "network-device",
        "Network device",
        "hardware",
        False,
        "router",
        ["hostname", "serial"],
        [
            (
                "device_role",
                "Role",
                "choice",
                False,
                False,
                ["router", "switch", "firewall", "load-balancer", "access-point"],
            ),
            ("firmware_version", "Firmware version", "string", False, False, []),
            ("management_ip", "Management IP", "ip", False, False, []),
        ],
    ),
    (
        "storage",
        "Storage / disk",
        "hardware",
        False,
        "device-hdd",
        ["serial"],
        [
            ("capacity_gb", "Capacity (GB)", "decimal", False, False, []),
            ("firmware_version", "Firmware version", "string", False, False, []),
        ],
    ),
    (
        "location",
        "Location / building",
        None,
        False,
        "building",
        ["site_code"],
        [
            ("address", "Address", "string", False, False, []),
        ],
    ),
    (
        "team",
        "Team",
        None,
        False,
        "people",
        [],
        [
            ("on_call_phone", "On-call phone", "string", False, False, []),
        ],
    ),
    (
        "person",
        "Person",
        None,
        False,
        "person",
        ["employee_id"],
        [
            ("home_address", "Home address", "string", False, True, []),
            ("personal_phone", "Personal phone", "string", False, True, []),
        ],
    ),
    (
        "supplier",
        "Supplier",
        None,
        False,
        "truck",
        ["supplier_code"],
        [
            ("contract_reference", "Contract reference", "string", False, False, []),
        ],
    ),
    (
        "document",
        "Document",
        None,
        False,
        "file-earmark-text",
        ["document_id"],
        [
            ("url", "URL", "url", False, False, []),
            ("document_version", "Version", "string", False, False, []),
        ],
    ),
]

# (slug, forward, reverse, impact direction)
RELATIONSHIP_TYPES = [
    ("depends-on", "depends on", "used by", "target_to_source"),
    ("runs-on", "runs on", "hosts", "target_to_source"),
    # The dependent end is the source: "srv-01 connected to core-switch" (the switch failing impacts
    # the server, not the other way round; "both" would spread one failure across the whole network).
    ("connected-to", "connected to", "connected to", "target_to_source"),
    ("part-of", "part of", "contains", "source_to_target"),
    ("backed-up-by", "backed up by", "backs up", "none"),
    ("located-in", "located in", "location of", "target_to_source"),
    ("supported-by", "supported by", "supports", "none"),
    ("documented-by", "documented by", "documents", "none"),
]


def load_defaults(apps=None) -> None:
    """Create the default classes, attribute definitions and relationship types where missing."""
    if apps is None:
        from django.apps import apps as global_apps

        apps = global_apps
    CIClass = apps.get_model("configuration", "CIClass")
    AttributeDefinition = apps.get_model("configuration", "AttributeDefinition")
    RelationshipType = apps.get_model("configuration", "RelationshipType")
    by_slug = {}
    for slug, name, parent, is_service, icon, identifier_keys, attributes in CLASSES:
        ci_class, _ = CIClass.objects.get_or_create(
            slug=slug,
            defaults={
                "name": name,
                "parent": by_slug.get(parent),
                "is_service": is_service,
                "icon": icon,
                "identifier_keys": identifier_keys,
            },
        )
        by_slug[slug] = ci_class
        for order, (key, label, kind, required, sensitive, choices) in enumerate(attributes):
            AttributeDefinition.objects.get_or_create(
                ci_class=ci_class,
                key=key,
                defaults={
                    "label": label,
                    "type": kind,
                    "required": required,
                    "sensitive": sensitive,
                    "choices": choices,
                    "order": (order + 1) * 10,
                },
            )
    for slug, forward, reverse, direction in RELATIONSHIP_TYPES:
        RelationshipType.objects.get_or_create(
            slug=slug,
            defaults={"forward_label": forward, "reverse_label": reverse, "impact_direction": direction},
        )
