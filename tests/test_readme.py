"""Every example the README shows runs verbatim (after its first command, which installs custvalue)."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_the_quick_start_has_exactly_two_commands() -> None:
    quick = README.read_text(encoding="utf-8").split("## Quick start")[1].split("## Use")[0]
    commands = re.findall(r"```console\n(.*?)```", quick, flags=re.S)
    assert len(commands) == 2
    assert "custvalue demo" in commands[0] and "pytest" in commands[1]


def test_the_use_section_runs_verbatim(tmp_path: Path) -> None:
    use = README.read_text(encoding="utf-8").split("## Use")[1].split("## Documentation")[0]
    consoles = re.findall(r"```console\n(.*?)```", use, flags=re.S)
    python = re.findall(r"```python\n(.*?)```", use, flags=re.S)
    assert consoles and len(python) == 1
    bindir = Path(sys.executable).parent

    def run(line: str) -> None:
        argv = shlex.split(line)
        assert argv[0].startswith(".venv/bin/"), line
        argv[0] = str(bindir / argv[0].removeprefix(".venv/bin/"))
        done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, (line, done.stderr)

    for line in consoles[0].strip().splitlines():  # writes balances.csv
        run(line)
    done = subprocess.run(
        [sys.executable, "-c", python[0]], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert "customer C0000042" in done.stdout and (tmp_path / "result.csv").exists()
    for line in consoles[1].strip().splitlines():
        run(line)
    assert (tmp_path / "my_policy.toml").exists()


@pytest.mark.parametrize("block", _blocks("console"))
def test_console_blocks_call_the_installed_tools(block: str) -> None:
    for line in block.strip().splitlines():
        assert line.startswith(("python3 -m venv", ".venv/bin/")), line
