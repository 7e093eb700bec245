"""Bank files: what a column mapping, a GB18030 encoding and a data frame cost against a plain file.

    python benchmarks/bench_bank_files.py --n 200000 --repeat 3

For ``custvalue.synthetic.generate(n, seed=0)``, the same rows written as

* **plain**: custvalue's own CSV (``write_balances``);
* **mapped**: the same bytes with the export's column names, the columns in
  reverse order and a remark column (``columns=`` mapping, one column ignored);
* **gb18030**: the mapped file with ``;`` separators and Chinese branch names,
  encoded in GB18030 (``delimiter=";", encoding="gb18030"``);
* **pandas**: ``Portfolio.from_pandas`` of the long frame with decimal-text
  money (the frame built beforehand, not timed);

each read with ``read_balances`` (asserted equal to the plain read).  Runs
alternate between the variants so all see the same machine load; the table
shows medians and the ratio to the plain read of the same run.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import attrs

from custvalue import Portfolio
from custvalue.io import ExtraColumnsWarning, read_balances, write_balances
from custvalue.synthetic import generate

NAMES = {
    "customer_id": "CUST_NO",
    "branch_id": "ORG_NO",
    "month": "STAT_MONTH",
    "deposits": "DEP_BAL",
    "wealth": "WM_BAL",
    "investments": "INV_BAL",
    "mortgage_loan": "MORT_BAL",
    "credit_loan": "CRED_BAL",
    "card_spend": "CARD_AMT",
    "card_level": "CARD_LVL",
}


def _variants(d: Path, n: int) -> tuple[Portfolio, dict[str, Callable[[], Portfolio]]]:
    p = attrs.evolve(generate(n, seed=0), opened=None)
    plain = write_balances(p, d / "plain.csv")
    lines = plain.read_text().splitlines()
    header = lines[0].split(",")
    order = list(reversed(range(len(header))))

    def rewrite(sep: str, branch: Callable[[str], str]) -> list[str]:
        out = [sep.join([NAMES[header[k]] for k in order] + ["REMARK"])]
        bi = header.index("branch_id")
        for line in lines[1:]:
            cells = line.split(",")
            cells[bi] = branch(cells[bi])
            out.append(sep.join([cells[k] for k in order] + ["-"]))
        return out

    (d / "mapped.csv").write_text("\n".join(rewrite(",", str)) + "\n")
    gb = rewrite(";", lambda b: f"{b}分行营业部")
    (d / "gb.csv").write_bytes(("\r\n".join(gb) + "\r\n").encode("gb18030"))
    import pandas as pd

    frame = pd.read_csv(plain, dtype=str, keep_default_na=False)
    want = read_balances(plain)
    gb_want = attrs.evolve(want, branch_ids=(want.branch_ids.astype(object) + "分行营业部").astype(str))
    runs: dict[str, Callable[[], Portfolio]] = {
        "plain": lambda: read_balances(plain),
        "mapped": lambda: read_balances(d / "mapped.csv", columns=NAMES),
        "gb18030": lambda: read_balances(d / "gb.csv", columns=NAMES, delimiter=";", encoding="gb18030"),
        "pandas": lambda: Portfolio.from_pandas(frame),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtraColumnsWarning)
        for name, run in runs.items():
            assert run() == (gb_want if name == "gb18030" else want), name
    return want, runs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        p, runs = _variants(Path(tmp), args.n)
        times: dict[str, list[float]] = {k: [] for k in runs}
        warnings.simplefilter("ignore", ExtraColumnsWarning)
        for _ in range(args.repeat):
            for name, run in runs.items():
                t0 = time.perf_counter()
                run()
                times[name].append(time.perf_counter() - t0)
    base = statistics.median(times["plain"])
    print(f"{p.n_customers:,} customers × {p.n_months} months, median of {args.repeat}")
    print(f"{'variant':<10} {'read s':>8} {'× plain':>8}")
    for name, ts in times.items():
        m = statistics.median(ts)
        print(f"{name:<10} {m:>8.2f} {m / base:>8.2f}")


if __name__ == "__main__":
    main()
