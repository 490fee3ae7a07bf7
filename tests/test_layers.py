"""Apps import only apps in lower layers (ARCHITECTURE.md), checked over the source's imports."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = {
    "itsm": 0,
    "people": 1,
    "configuration": 2,
    "servicelevels": 2,
    "incidents": 3,
    "events": 4,
    "problems": 5,
    "knowledge": 5,
    "portal": 6,
    "dashboards": 6,
}


def _imports(path: Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module.split(".")[0]


def _sources():
    for app in LAYERS:
        folder = ROOT / app
        if folder.is_dir():
            for path in folder.rglob("*.py"):
                if "migrations" not in path.parts:
                    yield app, path


@pytest.mark.parametrize(
    ("app", "path"), list(_sources()), ids=lambda value: str(value).replace(str(ROOT), "")
)
def test_app_imports_only_lower_layers(app, path):
    for imported in _imports(path):
        if imported not in LAYERS or imported == app:
            continue
        allowed = LAYERS[imported] < LAYERS[app]
        assert allowed, (
            f"{path.relative_to(ROOT)}: {app} (layer {LAYERS[app]}) imports {imported} (layer {LAYERS[imported]})"
        )
