"""``python -m bench [ID ...]``: run every benchmark, or the named ones."""

import sys

from bench import BENCHMARKS
from bench.runner import BenchmarkBusy, run_benchmark


def main(argv: list[str]) -> int:
    if any(arg in {"-h", "--help"} for arg in argv):
        print(f"usage: python -m bench [ID ...]   (ids: {', '.join(BENCHMARKS)})")
        return 0
    names = argv or list(BENCHMARKS)
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    for name in names:
        try:
            run_benchmark(name, BENCHMARKS[name])
        except BenchmarkBusy as busy:
            print(f"python -m bench {name}: {busy}", file=sys.stderr)
            return 3
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
