"""Recompute SLA clocks of incidents from their status history (after changing a policy
retroactively, or loading incidents with past dates)."""

from django.core.management.base import BaseCommand

from incidents import sla
from incidents.models import Incident
from itsm.queries import in_batches


class Command(BaseCommand):
    help = "Recompute the SLA clocks of the given incidents (numbers), or of every open incident with --open."

    def add_arguments(self, parser):
        parser.add_argument("numbers", nargs="*", help="INC numbers")
        parser.add_argument("--open", action="store_true", help="every open incident")
        parser.add_argument("--all", action="store_true", help="every incident (slow on a large database)")

    def handle(self, *args, numbers, open, all, **options):  # noqa: A002 - option names
        rows = Incident.objects.all()
        if numbers:
            rows = rows.filter(number__in=numbers)
        elif open:
            rows = rows.open()
        elif not all:
            self.stderr.write("Name incidents, or use --open or --all.")
            return
        done = 0
        for incident in in_batches(rows.select_related("caller", "category", "subcategory"), 200):
            sla.rebuild(incident)
            done += 1
        self.stdout.write(f"Rebuilt the clocks of {done} incidents.")
