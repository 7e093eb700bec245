"""``custvalue evaluate`` through a subprocess with real files.

The streamed result and events files equal the in-memory ones; ``--out`` is
optional; the summary names counts per tier and status, incomplete
histories and customers without a tier; the progress bar shows on a
terminal only (tqdm, or the one-line indicator without it); SIGTERM in the
middle of a partitioned run leaves the old output and no temporary files.
"""

from __future__ import annotations

import filecmp
import os
import pty
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from custvalue import evaluate, read_balances, write_balances
from custvalue.synthetic import generate
from custvalue.tiering import write_events

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "custvalue.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("evaluate_cli")
    p = generate(3_000, seed=9)
    sorted_pq = write_balances(p, d / "b.parquet")
    t = pq.read_table(sorted_pq)
    shuffled = d / "shuffled.parquet"
    pq.write_table(
        t.take(pa.array(np.random.default_rng(1).permutation(len(t)))), shuffled, row_group_size=999
    )
    return {
        "parquet": sorted_pq,
        "csv": write_balances(p, d / "b.csv"),
        "shuffled": shuffled,
        "arrow": p.save(d / "b.arrow"),
    }


@pytest.mark.parametrize("name", ["parquet", "csv", "shuffled", "arrow"])
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_result_and_events_equal_the_in_memory_files(
    files: dict[str, Path], tmp_path: Path, name: str, fmt: str
) -> None:
    src = files[name]
    out, ev = tmp_path / f"r.{fmt}", tmp_path / f"e.{fmt}"
    proc = _cli(
        "evaluate", "--balances", str(src), "--as-of", "2026-10", "--out", str(out), "--events", str(ev),
        "--batch-customers", "700",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    mem = evaluate(read_balances(src), as_of="2026-10")
    mem.write(tmp_path / f"m.{fmt}")
    write_events(mem.events, tmp_path / f"me.{fmt}")
    if fmt == "csv":
        assert filecmp.cmp(out, tmp_path / "m.csv", shallow=False)
        assert filecmp.cmp(ev, tmp_path / "me.csv", shallow=False)
        head = ev.read_text().splitlines()
        assert head[0] == "customer_id,event,actions" and len(head) == len(mem.events) + 1
        assert any(line.endswith(",sms_rm;workstation_alert;manager_visit") for line in head) or len(head) > 1
    else:
        assert pq.read_table(out).equals(pq.read_table(tmp_path / "m.parquet"))
        assert pq.read_table(ev).equals(pq.read_table(tmp_path / "me.parquet"))
    c = mem.counts()
    err = proc.stderr
    assert f"{len(mem):,} customers as of 2026-10" in err
    for tier, count in c["tier"].items():
        assert f"{tier} {count:,}" in err
    for status, count in c["status"].items():
        assert f"{status} {count:,}" in err
    incomplete = int((~mem.history_complete).sum())
    assert f"incomplete history: {incomplete:,}; without a tier: 0" in err
    assert "\r" not in err and "it/s" not in err  # stderr is not a terminal: no progress


def test_out_is_optional_and_the_summary_counts_customers_without_a_tier(
    files: dict[str, Path], tmp_path: Path
) -> None:
    proc = _cli("evaluate", "--balances", str(files["csv"]), "--as-of", "2025-10")
    assert proc.returncode == 0, proc.stderr
    mem = evaluate(read_balances(files["csv"]), as_of="2025-10")
    without = int((mem.tier_codes < 0).sum())
    assert without > 0 and f"without a tier: {without:,}" in proc.stderr
    assert "nothing written" in proc.stderr
    assert sorted(p.name for p in files["csv"].parent.iterdir()) == sorted(f.name for f in files.values())


def test_bad_input_names_file_line_customer_and_writes_nothing(
    files: dict[str, Path], tmp_path: Path
) -> None:
    lines = files["csv"].read_text().splitlines(keepends=True)
    cells = lines[20_000].split(",")
    cells[4] = "1.234"  # wealth
    lines[20_000] = ",".join(cells)
    bad = tmp_path / "bad.csv"
    bad.write_text("".join(lines))
    out = tmp_path / "r.csv"
    out.write_text("old result")
    proc = _cli("evaluate", "--balances", str(bad), "--out", str(out), "--events", str(tmp_path / "e.csv"))
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1
    assert "bad.csv" in proc.stderr and "line 20001" in proc.stderr and "'wealth'" in proc.stderr
    assert f"customer '{cells[0]}'" in proc.stderr
    assert out.read_text() == "old result"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "r.csv"]
    proc = _cli("evaluate", "--balances", str(bad), "--batch-customers", "0")
    assert proc.returncode == 2 and "--batch-customers" in proc.stderr


def _run_on_a_terminal(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run the command with stderr on a pseudo-terminal; returns (exit status, what it showed)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "custvalue.cli", *args], stderr=slave, stdout=subprocess.DEVNULL, env=env
    )
    os.close(slave)
    chunks: list[bytes] = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # the terminal closed: the process ended
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return proc.wait(timeout=300), b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.parametrize("with_tqdm", [True, False])
def test_a_progress_bar_on_a_terminal(files: dict[str, Path], tmp_path: Path, with_tqdm: bool) -> None:
    env = dict(os.environ)
    if not with_tqdm:  # tqdm cannot be imported: the one-line indicator
        fake = tmp_path / "no_tqdm"
        (fake / "tqdm").mkdir(parents=True)
        (fake / "tqdm" / "__init__.py").write_text("raise ImportError('no tqdm here')\n")
        env["PYTHONPATH"] = os.pathsep.join([str(fake), env.get("PYTHONPATH", "")])
    code, shown = _run_on_a_terminal(
        ["evaluate", "--balances", str(files["shuffled"]), "--out", str(tmp_path / "r.parquet"),
         "--batch-customers", "500"],
        env,
    )  # fmt: skip
    assert code == 0, shown
    assert "evaluating" in shown and "3,000 customers as of 2026-10" in shown
    if with_tqdm:
        assert "100%|" in shown  # the bar reached its end
    else:
        assert "(100%)" in shown and "|" not in shown.split("3,000 customers")[0]


def test_sigterm_in_the_middle_leaves_the_old_output_and_no_partitions(tmp_path: Path) -> None:
    src = write_balances(generate(60_000, seed=3), tmp_path / "in.parquet")
    t = pq.read_table(src)
    pq.write_table(t.take(pa.array(np.random.default_rng(2).permutation(len(t)))), src)  # partitioned
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "r.parquet"
    out.write_bytes(b"old result")
    proc = subprocess.Popen(
        [sys.executable, "-m", "custvalue.cli", "evaluate", "--balances", str(src), "--out", str(out),
         "--events", str(out_dir / "e.csv"), "--batch-customers", "5000"],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    partitions = []
    while time.monotonic() < deadline and proc.poll() is None:
        work = [p for p in out_dir.iterdir() if p.name.startswith(".custvalue-stream-")]
        partitions = [q for w in work for q in w.glob("part-*")]
        if partitions:
            break
        time.sleep(0.01)
    assert partitions, "the run ended before it partitioned the file"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert err.strip().endswith("no output was written or replaced")
    assert out.read_bytes() == b"old result"
    assert sorted(p.name for p in out_dir.iterdir()) == ["r.parquet"]
