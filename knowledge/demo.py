def load_demo() -> str:
    return "knowledge: nothing yet"
