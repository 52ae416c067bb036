"""Sphinx configuration of the skbigreg documentation.

Build with ``python -m sphinx -W --keep-going -b html doc doc/_build/html``.
The build reads docstrings and the example scripts; it runs no example and
fetches nothing from the network.
"""

import sys
from pathlib import Path

# Make the package importable when the docs are built from a source checkout
# that is not installed.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import skbigreg  # noqa: E402

project = "skbigreg"
author = "The skbigreg developers"
copyright = "The skbigreg developers"
version = release = skbigreg.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
root_doc = "index"

# -- API reference -------------------------------------------------------------
autosummary_generate = True  # writes doc/generated/ (git-ignored)
autosummary_imported_members = False
autodoc_default_options = {"member-order": "groupwise"}
autodoc_typehints = "none"  # numpydoc's Parameters sections say it already

numpydoc_show_class_members = False  # the class template lists members
numpydoc_show_inherited_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = False
numpydoc_xref_param_type = False

# Cross-references to other projects are written as plain text: the build must
# not fetch intersphinx inventories (it runs without network access).
nitpicky = False

# -- HTML ------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skbigreg {version}"
html_static_path = ["_static"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
html_show_sourcelink = False
