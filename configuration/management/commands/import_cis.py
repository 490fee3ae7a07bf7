"""Import CIs from a CSV or JSON file (a discovery export or an infrastructure-as-code repository)."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from configuration import imports


class Command(BaseCommand):
    help = "Import CIs from a CSV or JSON file with reconciliation; prints the per-row report."

    def add_arguments(self, parser):
        parser.add_argument("file", help='A .csv or .json file (JSON: a list of items or {"items": [...]}).')
        parser.add_argument("--source", required=True, help="The feed's name, recorded as each CI's source.")
        parser.add_argument(
            "--mode",
            choices=imports.MODES,
            default="upsert",
            help="upsert: create and update CIs; audit: only record undocumented items.",
        )
        parser.add_argument("--json", action="store_true", help="Print the whole report as JSON.")

    def handle(self, *args, file: str, source: str, mode: str, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        text = path.read_text(encoding="utf-8-sig")
        try:
            items = imports.parse_csv(text) if path.suffix.lower() == ".csv" else imports.parse_json(text)
            report = imports.import_items(actor=None, source=source, items=items, mode=mode).as_dict()
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error
        if options["json"]:
            self.stdout.write(_dumps(report))
            return
        for row in report["rows"]:
            if row["status"] == "error":
                self.stdout.write(f"row {row['row']}: error: {row['message']}")
        self.stdout.write(
            f"{source}: {report['created']} created, {report['updated']} updated, {report['unchanged']} unchanged, "
            f"{report['errors']} errors, {report['discovered']} discovered, {report['seen']} seen"
        )


def _dumps(data) -> str:
    return json.dumps(data, indent=2, default=str)
