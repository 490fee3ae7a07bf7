"""Demo incidents (written by the demo-data work; placeholder until then)."""


def load_demo() -> str:
    return "no demo incidents yet"
