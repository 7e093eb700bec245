"""Regenerate the pictures of the analyst's guide (docs/analyst_guide.rst) into docs/_static/analyst/.

Run from the repository root after a change to the plots or the synthetic data::

    python docs/make_figures.py

It builds the guide's synthetic portfolio (2,000 customers, seed 7, three
branches), draws each report with ``Report.plot`` on a matplotlib figure of
its own (Agg, no display needed) and writes one PNG per picture.  The PNGs
are committed, so building the docs needs neither this script nor a run of
the reports.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "_static" / "analyst"


def _book(portfolio: Any) -> Any:
    """The guide's allocation book: two managers per branch serving its first customers."""
    from custvalue.allocation import AllocationBook

    ids, br = portfolio.customer_ids.tolist(), portfolio.branch_ids.tolist()
    branches = sorted(set(br))
    book = AllocationBook.empty({f"RM{b[-1]}{k}": b for b in branches for k in (1, 2)})
    book = book.add_customers(ids, br, effective=dt.date(2026, 1, 1), operator="ops").book
    for b in branches:
        mine = [c for c, x in zip(ids, br, strict=True) if x == b][:200]
        for k in (1, 2):
            m = f"RM{b[-1]}{k}"
            book = book.batch_allocate(
                mine[k - 1 :: 2], m, {m: "100%"}, tiers="gold", effective=dt.date(2026, 9, 1), operator="ops"
            ).book
    return book


def figures() -> dict[str, tuple[Callable[[Any], Any], tuple[float, float]]]:
    """``{file name: (draw(ax), figure size in inches)}`` of every picture of the guide."""
    import custvalue as cv
    from custvalue import analytics as an
    from custvalue.synthetic import generate

    p = generate(2000, seed=7, households=True, n_branches=3)
    r = cv.evaluate(p, as_of="2026-10")
    m = an.asset_monitor(p, "2026-10")
    book = _book(p)
    day = dt.date(2026, 10, 31)
    att = book.attribute(r.aum_fen, day, customer_ids=r.customer_ids)
    d = an.tier_distribution(r)
    t = an.tier_trend(p, months=12)
    mig = an.migration_report(p, None, "2026-09", "2026-10")
    k = an.concentration(r)
    managers = an.performance_report(att, manager_branch=book.managers)
    wide, square = (8.0, 4.5), (6.5, 5.5)
    return {
        "tier_mix.png": (lambda ax: d.plot(ax), wide),
        "tier_mix_by_branch.png": (lambda ax: d.plot(ax, kind="branch", share=True), wide),
        "tier_trend.png": (lambda ax: t.plot(ax, logy=True), wide),
        "migration.png": (lambda ax: mig.plot(ax), square),
        "lorenz.png": (lambda ax: k.plot(ax), (6.0, 5.0)),
        "pareto.png": (lambda ax: k.plot(ax, kind="pareto"), (6.0, 5.0)),
        "branch_assets.png": (lambda ax: m.by_branch().plot(ax), wide),
        "managers.png": (lambda ax: managers.plot(ax), wide),
        "alerts.png": (lambda ax: an.evaluate_alerts(m).plot(ax), (6.0, 4.0)),
    }


def main(out: Path = OUT) -> list[Path]:
    """Write every picture into ``out``; returns the files written."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (draw, size) in figures().items():
        fig = Figure(figsize=size, dpi=100, layout="constrained")
        FigureCanvasAgg(fig)
        draw(fig.add_subplot())
        fig.savefig(out / name, metadata={"Software": None})
        written.append(out / name)
    return written


if __name__ == "__main__":
    for path in main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT):
        print(path)
