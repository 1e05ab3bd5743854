"""A Sphinx extension that writes every formula as MathML when the book is built.

Chromium (109+), Firefox and Safari draw MathML Core themselves, so a page needs no MathJax
(0.83 MB a page with math) and shows its formulas with the text, before any script has run.
This registers the HTML math renderer ``mathml`` (``html_math_renderer: mathml`` in
_config.yml selects it): inline math becomes a ``<math>`` element, display math a
``<math display="block">`` in a ``<div class="math">`` that scrolls sideways when the formula
is wider than the column (book.css, scroll_cue.js), with the equation number of a labelled
equation as MathJax's renderer writes it. The TeX is converted by :mod:`tex_mathml` and
:mod:`mathml_core`. A formula it cannot convert is a warning naming it, so the build (``-W``)
fails instead of showing TeX.

A notebook output may hold TeX too: ``gradwidgets.lessons.table(..., math=[...])`` writes
``<span class="math notranslate nohighlight">\\(...\\)</span>`` into its HTML, which JupyterLab
typesets. Such spans in the book's HTML outputs are replaced by their MathML the same way.
"""

from __future__ import annotations

import html
import re

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.locale import _
from sphinx.util import logging
from sphinx.util.math import get_node_equation_number
from tex_mathml import display_tex, to_mathml

logger = logging.getLogger(__name__)

OUTPUT_MATH = re.compile(r'<span class="math notranslate nohighlight">\\\((.*?)\\\)</span>', re.S)
"""A formula in a notebook's HTML output, as gradwidgets.lessons.tables writes it."""


def _render(node: nodes.Node, tex: str, display: bool = False) -> str:
    """The MathML of ``tex``, or its escaped TeX after a warning that names the formula."""
    try:
        return to_mathml(tex, display=display)
    except ValueError as err:
        logger.warning("cannot write the formula %r as MathML: %s", tex, err, location=node, type="mathml")
        return f'<code class="gw-math-error">{html.escape(tex)}</code>'


def visit_math(translator, node: nodes.math) -> None:
    """An inline formula: a bare ``<math>`` element in the line."""
    translator.body.append(_render(node, node.astext()))
    raise nodes.SkipNode


def visit_math_block(translator, node: nodes.math_block) -> None:
    """A display formula: ``<math display="block">`` in a box that fits the column."""
    translator.body.append(translator.starttag(node, "div", CLASS="math notranslate nohighlight"))
    if node.get("number"):
        number = get_node_equation_number(translator, node)
        translator.body.append(f'<span class="eqno">({number})')
        translator.add_permalink_ref(node, _("Link to this equation"))
        translator.body.append("</span>")
    tex = display_tex(node.astext(), nowrap=bool(node.get("nowrap")))
    translator.body.append(_render(node, tex, display=True))
    translator.body.append("</div>\n")
    raise nodes.SkipNode


def convert_output_math(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Replace the TeX spans of the page's HTML outputs by MathML."""
    for node in list(doctree.findall(nodes.raw)):
        text = node.astext()
        if "html" not in node.get("format", "").split() or "\\(" not in text:
            continue

        converted = OUTPUT_MATH.sub(lambda m, node=node: _render(node, html.unescape(m.group(1))), text)
        if converted != text:
            node.replace_self(nodes.raw("", converted, format=node["format"], classes=node["classes"]))


def setup(app: Sphinx) -> dict:
    """Register the ``mathml`` HTML math renderer and the conversion of outputs' formulas."""
    app.add_html_math_renderer("mathml", (visit_math, None), (visit_math_block, None))
    app.connect("doctree-resolved", convert_output_math)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
