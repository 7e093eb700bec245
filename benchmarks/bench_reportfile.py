"""The report file (``custvalue report``): the report set and writing it, against one ``evaluate()``.

Parts, each the median of ``--repeat`` runs on the same synthetic portfolio
in the same run:

* ``evaluate``     one ``custvalue.evaluate`` at the as-of month (the yardstick)
* ``report_set``   every report of the file (``custvalue.analytics.report_set``:
                   its own evaluation, the tier trend, the asset monitor, alerts...)
* ``xlsx``         writing the workbook (XlsxWriter; native charts)
* ``html``         writing the HTML page (tables + 14 matplotlib charts as PNG)
* ``html_tables``  the HTML page without the charts (the tables alone)

The charts cost the same whatever the portfolio size (they draw aggregates);
the tables grow with the alert lists only.

    python benchmarks/bench_reportfile.py --n 100000
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import custvalue as cv
from custvalue import analytics as an
from custvalue.analytics._html import html_page
from custvalue.synthetic import generate


def _median(f: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--n", type=int, default=100_000, help="customers")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    p = generate(args.n, seed=1)
    rs = an.report_set(p, "2026-10")
    out = Path(tempfile.mkdtemp())
    parts = {
        "evaluate": lambda: cv.evaluate(p, as_of="2026-10"),
        "report_set": lambda: an.report_set(p, "2026-10"),
        "xlsx": lambda: rs.write(out / "r.xlsx"),
        "html": lambda: rs.write(out / "r.html"),
        "html_tables": lambda: html_page(rs, charts=False),
    }
    times = {k: _median(f, args.repeat) for k, f in parts.items()}
    base = times["evaluate"]
    print(f"{args.n:,} customers × {len(p.months)} months")
    for k, t in times.items():
        print(f"  {k:<12} {t:8.3f} s   {t / base:6.1f} × evaluate")


if __name__ == "__main__":
    main()
