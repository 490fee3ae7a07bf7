"""What every widget is: a table of cells, each with its value and the link to the records behind it.
The page draws a chart from it (Chart.js) and shows it as a table; CSV and the API serve it as is."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "int"  # text, int, percent, hours, datetime


@dataclass
class Cell:
    value: Any
    url: str | None = None

    @property
    def display(self) -> str:
        if self.value is None:
            return "—"
        if isinstance(self.value, float):
            return f"{self.value:,.1f}"
        if isinstance(self.value, int) and not isinstance(self.value, bool):
            return f"{self.value:,}"
        if hasattr(self.value, "strftime"):
            return self.value.strftime("%Y-%m-%d %H:%M")
        return str(self.value)


@dataclass
class Table:
    key: str
    title: str
    columns: list[Column]
    rows: list[list[Cell]] = field(default_factory=list)
    # Chart.js: {"type": "bar"|"line", "label": column key, "series": [column keys], "stacked": bool}
    chart: dict | None = None
    note: str = ""
    tiles: bool = False

    def add(self, *cells: Cell | Any) -> None:
        self.rows.append([cell if isinstance(cell, Cell) else Cell(cell) for cell in cells])

    def values(self) -> list[dict[str, Any]]:
        return [
            {col.key: _json(cell.value) for col, cell in zip(self.columns, row, strict=True)}
            for row in self.rows
        ]

    def as_data(self) -> dict:
        """The table as JSON for the API and the chart: columns, rows of values, and the links."""
        return {
            "title": self.title,
            "columns": [{"key": c.key, "label": c.label, "kind": c.kind} for c in self.columns],
            "rows": self.values(),
            "links": [
                {col.key: cell.url for col, cell in zip(self.columns, row, strict=True) if cell.url}
                for row in self.rows
            ],
            "chart": self.chart,
            "note": self.note,
        }

    def as_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([c.label for c in self.columns])
        for row in self.rows:
            writer.writerow(["" if cell.value is None else _csv(cell.value) for cell in row])
        return out.getvalue()


def _json(value):
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _csv(value) -> str:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:.1f}"
    text = str(value)
    # A cell starting with = + - @ is a formula to a spreadsheet: quote it (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def incident_list(params: dict) -> str:
    """The incident queue's "all incidents" tab filtered by ``params`` (the shared FilterSet's names)."""
    query = {"tab": "all"}
    for key, value in params.items():
        if value is None or value == "":
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif hasattr(value, "isoformat"):
            value = value.isoformat()
        query[key] = value
    return reverse("incidents:queue") + "?" + urlencode(query, doseq=True)
