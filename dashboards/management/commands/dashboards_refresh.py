from django.core.management.base import BaseCommand

from dashboards.services import facts_refresh


class Command(BaseCommand):
    help = "Bring the dashboards' summary table up to date (--all: rebuild it from every incident)."

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="Rewrite the facts of every incident.")

    def handle(self, *args, **options):
        result = facts_refresh(full=options["all"])
        self.stdout.write(f"{result.rows} incidents written in {result.seconds:.1f} s")
