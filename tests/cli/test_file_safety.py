"""Files are never lost (SPEC §9): inputs are never replaced, outputs are whole or untouched.

Covers: output equal to an input (also through symbolic and hard links), kept
permissions, pipes written to in place, a missing directory found before any
work, a full disk, and SIGTERM / Ctrl-C at random points of a run (subprocess
fault injection), each leaving no temporary file behind.
"""

from __future__ import annotations

import errno
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from custvalue.cli import main
from custvalue.io import OutputError, atomic_write, check_output, write_balances
from custvalue.synthetic import generate


@pytest.fixture(scope="module")
def balances(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("safety")
    return write_balances(generate(3_000, seed=4), d / "balances.csv")


def _run(*args: str) -> tuple[int, str]:
    import io

    err = io.StringIO()
    code = main(list(args), stdout=io.StringIO(), stderr=err)
    return code, err.getvalue()


def _temporaries(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir() if p.name.startswith(".") and p.name.endswith(".tmp"))


@pytest.mark.parametrize("how", ["same", "symlink", "hardlink", "relative"])
def test_an_output_that_is_the_input_is_refused(tmp_path: Path, balances: Path, how: str) -> None:
    src = tmp_path / "b.csv"
    src.write_bytes(balances.read_bytes())
    before = src.read_bytes()
    out = {
        "same": src,
        "symlink": tmp_path / "link.csv",
        "hardlink": tmp_path / "hard.csv",
        "relative": Path(os.path.relpath(src)),
    }[how]
    if how == "symlink":
        out.symlink_to(src)
    if how == "hardlink":
        os.link(src, out)
    code, err = _run("evaluate", "--balances", str(src), "--as-of", "2026-10", "--out", str(out))
    assert code == 2 and "refusing to replace an input" in err
    assert src.read_bytes() == before


def test_a_policy_export_over_its_own_source_is_refused(tmp_path: Path) -> None:
    pol = tmp_path / "p.toml"
    assert _run("policy", "export", "--out", str(pol))[0] == 0
    text = pol.read_text()
    code, err = _run("policy", "export", "--policy", str(pol), "--out", str(pol))
    assert code == 2 and "refusing to replace an input" in err
    assert pol.read_text() == text


@pytest.mark.parametrize("ext", ["csv", "parquet"])
def test_a_replaced_output_keeps_its_permissions(tmp_path: Path, balances: Path, ext: str) -> None:
    out = tmp_path / f"r.{ext}"
    out.write_text("old")
    os.chmod(out, 0o600)
    assert _run("evaluate", "--balances", str(balances), "--as-of", "2026-10", "--out", str(out))[0] == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600 and out.read_bytes() != b"old"
    pol = tmp_path / "p.json"
    pol.write_text("{}")
    os.chmod(pol, 0o640)
    assert _run("policy", "export", "--out", str(pol))[0] == 0
    assert stat.S_IMODE(pol.stat().st_mode) == 0o640 and _temporaries(tmp_path) == []


def test_a_named_pipe_is_written_to_not_replaced(tmp_path: Path, balances: Path) -> None:
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    code, err = _run("evaluate", "--balances", str(balances), "--as-of", "2026-10", "--out", str(fifo))
    reader.join(timeout=30)
    assert code == 0, err
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert got and got[0].startswith(b"customer_id,branch_id,as_of,aum,tier")
    assert _temporaries(tmp_path) == []


def test_a_missing_directory_is_found_before_reading(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("not,a,balances,file\n")
    code, err = _run(
        "evaluate", "--balances", str(bad), "--as-of", "2026-10", "--out", str(tmp_path / "missing" / "r.csv")
    )
    assert code == 2 and "directory" in err and "does not exist" in err and ".tmp" not in err
    with pytest.raises(OutputError, match="is a directory"):
        check_output(tmp_path)


def test_a_full_disk_leaves_the_old_output(
    tmp_path: Path, balances: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "r.csv"
    out.write_text("old result")

    def no_space(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", no_space)
    code, err = _run("evaluate", "--balances", str(balances), "--as-of", "2026-10", "--out", str(out))
    assert code == 2 and "No space left on device" in err
    assert out.read_text() == "old result" and _temporaries(tmp_path) == []

    def half(p: Path) -> None:
        p.write_text("half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        atomic_write(out, half)
    assert out.read_text() == "old result" and _temporaries(tmp_path) == []


def _handles_sigterm(pid: int) -> bool:
    """Whether the process has installed its SIGTERM handler (main() is running)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    caught = next(line for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(int(caught.split()[1], 16) >> (signal.SIGTERM - 1) & 1)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
@pytest.mark.parametrize("delay", [0.0, 0.05, 0.15, 0.3, 0.6, None])
def test_a_signal_at_any_point_leaves_the_old_output(
    tmp_path: Path, balances: Path, sig: int, code: int, delay: float | None
) -> None:
    """``delay`` after main() took over (``None``: as soon as the process exists)."""
    out = tmp_path / "r.csv"
    out.write_text("old result")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "custvalue.cli",
            "evaluate",
            "--balances",
            str(balances),
            "--as-of",
            "2026-10",
            "--out",
            str(out),
        ],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    if delay is not None:
        deadline = time.monotonic() + 60
        while not _handles_sigterm(proc.pid) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(delay)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert _temporaries(tmp_path) == []
    text = out.read_text()
    complete = text.startswith("customer_id,branch_id,as_of,aum,tier") and text.count("\n") == 3_001
    assert text == "old result" or complete  # never a partial or missing output
    if proc.returncode == 0:  # finished before the signal
        assert complete
    elif proc.returncode == code:  # main() handled it: one line saying what is in place
        assert "Traceback" not in err
        if text == "old result":
            assert err.strip().endswith("; no output was written or replaced")
        else:  # interrupted after the rename (printing the summary)
            assert err.strip().endswith(
                f"; {out} was written before it; no other output was written or replaced"
            )
    else:  # the interpreter's own handling, before main() installed its handler or after it ended
        assert proc.returncode in (-sig, 1), err
        assert delay is None or complete


class _InterruptedSummary:
    """A stderr whose first summary line is interrupted (the outputs are already in place)."""

    def __init__(self, exc: type[BaseException]) -> None:
        self.exc, self.text, self.raised = exc, "", False

    def write(self, text: str) -> int:
        if "events;" in text and not self.raised:
            self.raised = True
            raise self.exc
        self.text += text
        return len(text)

    def isatty(self) -> bool:
        return False


@pytest.mark.parametrize("events", [False, True])
def test_an_interrupt_after_the_outputs_are_in_place_names_them(
    tmp_path: Path, balances: Path, events: bool
) -> None:
    import io

    import custvalue.cli as cli

    out, ev = tmp_path / "r.csv", tmp_path / "e.csv"
    out.write_text("old result")
    args = ["evaluate", "--balances", str(balances), "--as-of", "2026-10", "--out", str(out)]
    if events:
        args += ["--events", str(ev)]
    err = _InterruptedSummary(KeyboardInterrupt)
    assert main(args, stdout=io.StringIO(), stderr=err) == 130  # type: ignore[arg-type]
    assert out.read_text().count("\n") == 3_001 and _temporaries(tmp_path) == []
    written = f"{ev}, {out} were" if events else f"{out} was"  # in the order they were renamed
    assert (
        err.text
        == f"\ncustvalue: interrupted; {written} written before it; no other output was written or replaced\n"
    )
    err = _InterruptedSummary(cli._Terminated)
    assert main(args, stdout=io.StringIO(), stderr=err) == 143  # type: ignore[arg-type]
    assert err.text.startswith(f"custvalue: terminated; {written} written before it;")


def test_an_interrupt_before_the_rename_says_nothing_was_written(
    tmp_path: Path, balances: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The note is taken just before the rename: a rename that did not happen is not reported."""
    import io

    out = tmp_path / "r.csv"
    out.write_text("old result")

    def interrupted(src: object, dst: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    err = io.StringIO()
    args = ["evaluate", "--balances", str(balances), "--as-of", "2026-10", "--out", str(out)]
    assert main(args, stdout=io.StringIO(), stderr=err) == 130
    assert err.getvalue().endswith("interrupted; no output was written or replaced\n")
    assert out.read_text() == "old result" and _temporaries(tmp_path) == []


def test_python_m_returns_130_when_the_interrupt_lands_in_a_string_exec(
    tmp_path: Path, balances: Path
) -> None:
    """CPython flags a KeyboardInterrupt raised in any string ``exec`` (a
    namedtuple or dataclass made by a lazy import) and, under ``python -m``,
    turns the exit into a death by SIGINT even though main() caught it.  The
    interrupt is made to land in one, every time."""
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(
        "import custvalue.cli as cli\n"
        "def _run(*args):\n"
        "    exec('import os, signal, time\\nos.kill(os.getpid(), signal.SIGINT)\\ntime.sleep(5)\\n', {})\n"
        "cli._run = _run\n"
    )
    out = tmp_path / "r.csv"
    out.write_text("old result")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(hook), os.environ.get("PYTHONPATH", "")])}
    args = ["evaluate", "--balances", str(balances), "--as-of", "2026-10", "--out", str(out)]
    proc = subprocess.run(
        [sys.executable, "-m", "custvalue.cli", *args], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 130, proc.stderr
    assert proc.stderr.strip().endswith("no output was written or replaced")
    assert out.read_text() == "old result" and _temporaries(tmp_path) == []


@pytest.mark.parametrize("exc", [KeyboardInterrupt, "sigterm"])
def test_an_interrupt_in_the_middle_of_the_write_leaves_the_old_output(
    tmp_path: Path, balances: Path, monkeypatch: pytest.MonkeyPatch, exc: object
) -> None:
    import custvalue.tiering._files as files

    out = tmp_path / "r.csv"
    out.write_text("old result")
    real = files.csv.writer

    class Interrupting:
        def __init__(self, fh: object, **kw: object) -> None:
            self.w = real(fh, **kw)  # type: ignore[arg-type]

        def writerow(self, row: object) -> None:
            self.w.writerow(row)  # type: ignore[arg-type]

        def writerows(self, rows: object) -> None:
            for k, row in enumerate(rows):  # type: ignore[attr-defined]
                if k == 1000:  # part of the file is on disk
                    if exc == "sigterm":
                        os.kill(os.getpid(), signal.SIGTERM)
                    raise KeyboardInterrupt
                self.w.writerow(row)

    monkeypatch.setattr(files.csv, "writer", Interrupting)
    code, err = _run("evaluate", "--balances", str(balances), "--as-of", "2026-10", "--out", str(out))
    assert code == (143 if exc == "sigterm" else 130), err
    assert out.read_text() == "old result" and _temporaries(tmp_path) == []
    assert "no output was written or replaced" in err
