"""The portal's plain words for impact and urgency, mapped to the priority matrix's levels."""

from __future__ import annotations

from django.db import models

from incidents.choices import Impact, Urgency


class PlainImpact(models.IntegerChoices):
    """Who is affected, as an end user says it (-> ``incidents.choices.Impact``)."""

    JUST_ME = Impact.MINOR, "Just me"
    SOME_PEOPLE = Impact.MODERATE, "Me and a few colleagues"
    MY_DEPARTMENT = Impact.SIGNIFICANT, "My whole team, department or site"
    EVERYONE = Impact.EXTENSIVE, "Everyone in the organisation"


class PlainUrgency(models.IntegerChoices):
    """How much it stops the work (-> ``incidents.choices.Urgency``)."""

    CAN_WAIT = Urgency.LOW, "It can wait: I can work around it"
    SLOWS_ME = Urgency.MEDIUM, "It slows my work down"
    CANNOT_WORK = Urgency.HIGH, "I cannot do my work"
    CRITICAL = Urgency.CRITICAL, "Critical business work is stopped right now"
