"""Load the demo data every installed app registered; with --if-empty each app's only once."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.utils import timezone

from itsm.models import KernelState
from itsm.registry import registry

MARKER = "demo_loaded"


class Command(BaseCommand):
    help = "Load demo data (accounts, groups, reference data) from every app that registered a loader."

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Only load when demo data was never loaded into this database (first start).",
        )
        parser.add_argument(
            "--list-accounts",
            action="store_true",
            help="Print the demo sign-ins (role, username, password) and load nothing.",
        )

    def handle(self, *args, if_empty: bool = False, list_accounts: bool = False, **options):
        if list_accounts:
            for role, username, password in registry.demo_accounts:
                self.stdout.write(f"{role:<9} {username} / {password}")
            return
        # One marker per loader: an installation that gains an app gets that app's demo data once.
        legacy = KernelState.objects.filter(key=MARKER).exists()  # before markers were per loader
        loaded = 0
        for _order, name, loader in registry.demo_loaders:
            key = f"{MARKER}:{name}"
            if if_empty and (KernelState.objects.filter(key=key).exists() or (legacy and name == "people")):
                continue
            summary = loader()
            loaded += 1
            self.stdout.write(f"demo data [{name}]: {summary}")
            KernelState.objects.update_or_create(
                key=key, defaults={"value": {"at": timezone.now().isoformat()}}
            )
        if not loaded:
            self.stdout.write("Demo data already loaded; nothing to do.")
