"""Sphinx configuration for the qibo-client documentation site.

Build: ``python -m sphinx -W --keep-going -b html docs docs/_build/html``
(the package is installed, editable, so autodoc imports it directly).
"""

from __future__ import annotations

import importlib.metadata

project = "qibo-client"
author = "The qibo-client developers"
copyright = "the qibo-client developers"
try:
    release = importlib.metadata.version("qibo-client")
except importlib.metadata.PackageNotFoundError:  # building from a bare checkout
    release = "0+unknown"
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]

# Markdown: `{directive}` fences, ::: blocks, and anchors for headings so
# pages can link to each other's sections (`protocol.md#extensions`).
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

# API reference from the docstrings. Signatures keep their type hints;
# forward references that Sphinx cannot resolve stay plain text because
# nitpicky mode is off.
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"members": True, "show-inheritance": True}
nitpicky = False

html_theme = "furo"
html_title = f"qibo-client {release}"
