"""Set-up of a classification run, first and second time on the same folder.

Run from the repository root::

    .venv/bin/python benchmarks/bench_setup.py FOLDER [--repeats 2]

Times ``load_classification_data`` (listing, verification of every image, splits) with an empty
verification memory (a fresh ``$TRANSFERKIT_HOME``), then again with the memory the first call
left: the second run decodes only images that changed. Goal of issue 11: second <= 20% of first.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

from transferkit.data.datasets.classification import load_classification_data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as home:
            os.environ["TRANSFERKIT_HOME"] = home  # an empty verification memory
            times = []
            for _ in range(2):
                start = time.perf_counter()
                splits = load_classification_data(args.folder)
                times.append(time.perf_counter() - start)
        n = sum(splits.summary["totals"].values())
        print(
            f"{n} images: first {times[0]:.2f} s, second {times[1]:.2f} s "
            f"({times[1] / times[0]:.0%} of the first)"
        )


if __name__ == "__main__":
    main()
