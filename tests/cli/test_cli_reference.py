"""The CLI reference page is generated from the parser at build time: it lists every command."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _extension():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("custvalue_cli", DOCS / "_ext" / "custvalue_cli.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_the_reference_has_every_command_and_action_with_its_help() -> None:
    text = _extension().cli_reference()
    exe = str(Path(sys.executable).parent / "custvalue")
    commands = ["demo", "evaluate", "explain", "what-if", "migration", "policy", "allocate", "attribute"]
    for cmd in commands:
        assert f"``custvalue {cmd}``\n" in text
    for action in ("show", "check", "export", "diff"):
        assert f"``custvalue policy {action}``\n" in text
    # the text is the command's own --help (same width)
    done = subprocess.run(
        [exe, "explain", "--help"], capture_output=True, text=True, env={"COLUMNS": "88", "PATH": ""}
    )
    assert done.returncode == 0
    body = "\n".join("   " + ln if ln else "" for ln in done.stdout.rstrip().splitlines())
    assert body in text


def test_the_page_uses_the_directive_and_is_in_the_toctree() -> None:
    assert ".. custvalue-cli::" in (DOCS / "cli_reference.rst").read_text()
    index = (DOCS / "index.rst").read_text()
    assert "   cli_reference\n" in index and "   bank_files\n" in index
    assert '"custvalue_cli"' in (DOCS / "conf.py").read_text()
