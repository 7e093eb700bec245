"""A Sphinx directive that renders the ``custvalue`` command line's help at build time.

``.. custvalue-cli::`` in a page becomes one section per command (and per
action of a command with actions, such as ``policy``), each holding the
command's ``--help`` text exactly as the installed command prints it.  The
text comes from the argparse parser itself (``custvalue.cli``), so the page
cannot fall behind the code.  :func:`cli_reference` gives the same reST, for
tests.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

#: Width of the rendered help (argparse reads ``COLUMNS``).
WIDTH = "88"


@contextmanager
def _columns() -> Iterator[None]:
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = WIDTH
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old


def _subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return list(action.choices.items())
    return []


def _block(text: str) -> list[str]:
    return ["::", "", *("   " + line if line else "" for line in text.rstrip().splitlines()), ""]


def cli_reference() -> str:
    """The reST of the reference: ``custvalue --help``, then each command's help."""
    from custvalue.cli import _parser

    with _columns():
        root = _parser()
        lines = ["``custvalue``", "-------------", "", *_block(root.format_help())]
        for name, sub in _subcommands(root):
            title = f"``custvalue {name}``"
            lines += [title, "-" * len(title), "", *_block(sub.format_help())]
            for action, subsub in _subcommands(sub):
                title = f"``custvalue {name} {action}``"
                lines += [title, "~" * len(title), "", *_block(subsub.format_help())]
    return "\n".join(lines) + "\n"


def setup(app: Any) -> dict[str, Any]:
    """Register ``.. custvalue-cli::`` (Sphinx is imported here: the module imports without it)."""
    from docutils import nodes
    from docutils.statemachine import StringList
    from sphinx.util.docutils import SphinxDirective
    from sphinx.util.nodes import nested_parse_with_titles

    class CustvalueCli(SphinxDirective):
        """``.. custvalue-cli::``: the command line reference, from the parser."""

        has_content = False

        def run(self) -> list[nodes.Node]:
            node = nodes.section()
            node.document = self.state.document
            lines = StringList(cli_reference().splitlines(), source="custvalue --help")
            nested_parse_with_titles(self.state, lines, node)
            return list(node.children)

    app.add_directive("custvalue-cli", CustvalueCli)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
