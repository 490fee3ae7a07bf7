"""Choices of the CMDB: CI status, environment, criticality, attribute types, impact direction."""

from django.db import models


class CIStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    LIVE = "live", "Live"
    MAINTENANCE = "maintenance", "In maintenance"
    RETIRED = "retired", "Retired"


class Environment(models.TextChoices):
    PRODUCTION = "production", "Production"
    TEST = "test", "Test"
    DEVELOPMENT = "development", "Development"
    DISASTER_RECOVERY = "dr", "Disaster recovery"


class Criticality(models.IntegerChoices):
    CRITICAL = 1, "1 - Critical"
    HIGH = 2, "2 - High"
    MEDIUM = 3, "3 - Medium"
    LOW = 4, "4 - Low"


class AttributeType(models.TextChoices):
    STRING = "string", "Text"
    INTEGER = "integer", "Whole number"
    DECIMAL = "decimal", "Decimal number"
    BOOLEAN = "boolean", "Yes/no"
    DATE = "date", "Date"
    CHOICE = "choice", "One of a list"
    URL = "url", "URL"
    IP_ADDRESS = "ip", "IP address"


class ImpactDirection(models.TextChoices):
    """Which way a failure spreads along a relationship "source <forward> target"."""

    TARGET_TO_SOURCE = "target_to_source", "Target failing impacts the source (depends on, runs on)"
    SOURCE_TO_TARGET = "source_to_target", "Source failing impacts the target (part of)"
    BOTH = "both", "Both ways (connected to)"
    NONE = "none", "No impact (backed up by)"
