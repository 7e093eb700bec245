"""Sphinx configuration for custvalue."""

from __future__ import annotations

import sys
from pathlib import Path

import custvalue

sys.path.insert(0, str(Path(__file__).resolve().parent / "_ext"))  # custvalue_cli: the CLI reference

project = "custvalue"
author = "custvalue developers"
copyright = "2026, custvalue developers"
release = custvalue.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.doctest",
    "sphinx.ext.viewcode",
    "custvalue_cli",
]
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
napoleon_attr_annotations = False  # annotations like NDArray[numpy.str_] are not reST
autodoc_typehints = "signature"
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "show-inheritance": False}
nitpicky = False
suppress_warnings = ["ref.python"]
html_theme = "alabaster"
html_static_path: list[str] = []
exclude_patterns = ["_build"]
# Doctests (docstrings and these pages) run under pytest: `python -m pytest`
# collects src/ with --doctest-modules and docs/*.rst with --doctest-glob.
doctest_test_doctest_blocks = ""
doctest_global_setup = """
import numpy as np
import custvalue
from custvalue import *
"""
