"""Demo data of problem management (placeholder, filled below)."""


def load_demo() -> str:
    return "problems: nothing yet"
