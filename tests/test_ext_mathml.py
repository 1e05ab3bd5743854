"""book/_ext/mathml.py writes formulas as MathML Core at build time, and fails on any it cannot."""

import io
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

EXT = Path(__file__).resolve().parent.parent / "book" / "_ext"


@pytest.fixture
def tex(monkeypatch, load_script):
    monkeypatch.syspath_prepend(str(EXT))
    return load_script("book/_ext/tex_mathml.py")


def _tags(mathml: str) -> list[str]:
    return [e.tag for e in ET.fromstring(mathml).iter()]


def test_an_inline_formula_is_a_math_element_with_unicode_characters(tex):
    out = tex.to_mathml(r"\frac{\partial L}{\partial W_l} \approx \sigma^2")
    assert out.startswith("<math>") and "display" not in out and "xmlns" not in out
    assert {"mfrac", "msub", "msup"} <= set(_tags(out))
    assert "∂" in out and "σ" in out and "&#x" not in out


def test_a_display_formula_is_a_block(tex):
    assert tex.to_mathml(r"\sum_{i=1}^n x_i", display=True).startswith('<math display="block">')


def test_what_browsers_would_not_draw_is_rewritten(tex):
    out = tex.to_mathml(r"\Big\|\mathbf{1}\Big\| + \mathrm{Var}[x] + \operatorname{rms} f + \sigma\!x")
    assert "‖" in out and "\\" not in out  # \Big\| is passed through as text by latex2mathml
    assert "𝟏" in out and "mathvariant" not in out  # MathML Core draws only mathvariant="normal"
    assert "<mi>Var</mi>" in out  # one upright identifier, not three letters
    assert '<mi>rms</mi><mspace width="0.1667em"/>' in out  # not an <mo> with thick spaces
    assert 'width="-0.1667em"' in out  # not the named space MathML Core lacks
    assert tex.to_mathml(r"\mathcal N + \mathcal{N} + \mathcal H") == tex.to_mathml(r"𝒩 + 𝒩 + ℋ")


def test_an_operator_name_gets_no_space_before_its_parenthesis(tex):
    out = tex.to_mathml(r"\operatorname{diag}(x) + \max_i x_i")
    assert '<mi>diag</mi><mo stretchy="false">(</mo>' in out
    assert "<msub><mi>max</mi><mi>i</mi></msub><mspace" in out


def test_a_prime_follows_its_letter_instead_of_floating_above_it(tex):
    assert '<mi>f</mi><mo lspace="0" rspace="0">′</mo><mo stretchy="false">(</mo>' in tex.to_mathml("f'(z)")
    assert '<mi>f</mi><mo lspace="0" rspace="0">″</mo>' in tex.to_mathml("f''")


def test_spacing_follows_tex_where_the_operator_dictionary_differs(tex):
    out = tex.to_mathml(r"W \sim U(-a, a),\ \max(g, -c) = 1 / 2 \pm x.")
    assert "<mo>∼</mo>" in out and "<mo>±</mo>" in out  # latex2mathml writes <mi>~</mi>, <mi>±</mi>
    assert out.count('<mo lspace="0" rspace="0">−</mo>') == 2  # unary minus
    assert '<mo lspace="0" rspace="0">/</mo>' in out and '<mo lspace="0" rspace="0">.</mo>' in out
    assert "<mi>a</mi><mo>−</mo>" in tex.to_mathml("a - b")  # binary minus keeps its spaces


def test_aligned_equations_are_a_table_with_one_row_per_line(tex):
    out = tex.to_mathml(tex.display_tex("\\begin{aligned}a &= b,\\\\ c &= d.\\end{aligned}"), display=True)
    assert _tags(out).count("mtr") == 2 and _tags(out).count("mtd") == 4
    blocks = tex.display_tex("a = b\n\nc = d")
    assert blocks.startswith("\\begin{align*}")
    assert _tags(tex.to_mathml(blocks, display=True)).count("mtr") == 2


def test_an_amsmath_block_is_one_formula_numbered_by_sphinx(tex):
    align = tex.display_tex("\\begin{align} a &= b \\\\ c &= d \\end{align}", nowrap=True)
    out = tex.to_mathml(align, display=True)
    assert _tags(out).count("mtr") == 2 and "(1)" not in out  # no row numbers of its own
    equation = tex.display_tex("\\begin{equation} E = mc^2 \\end{equation}", nowrap=True)
    assert tex.to_mathml(equation, display=True).startswith('<math display="block"><mrow><mi>E</mi>')


@pytest.mark.parametrize(
    ("formula", "message"),
    [
        (r"\foo{x}", r"\\foo"),  # latex2mathml would write <mi>\foo</mi>
        (r"x^{", "cannot parse"),
        (r"a & b", "alignment"),
        (r"a \\ b", "line break"),
        (r"\mathbf{\alpha\beta}", "no bold form"),
    ],
)
def test_a_formula_that_cannot_be_drawn_is_an_error_naming_it(tex, formula, message):
    with pytest.raises(ValueError, match=message):
        tex.to_mathml(formula)


SOURCE = """\
Title
=====

Inline :math:`\\alpha_1 + \\frac{1}{2}` in a line.

.. math::
   :label: energy

   E = m c^2
"""


def _build(tmp_path, source):
    from sphinx.application import Sphinx
    from sphinx.util.docutils import docutils_namespace

    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "conf.py").write_text("extensions = ['mathml']\nhtml_math_renderer = 'mathml'\n")
    (tmp_path / "src" / "index.rst").write_text(source)
    warnings = io.StringIO()
    with docutils_namespace():  # each build registers its nodes afresh
        app = Sphinx(
            tmp_path / "src", tmp_path / "src", tmp_path / "out", tmp_path / "doctrees", "html",
            status=None, warning=warnings,
        )  # fmt: skip
        app.build()
    return (tmp_path / "out" / "index.html").read_text(encoding="utf8"), warnings.getvalue()


def test_a_sphinx_build_writes_mathml_and_no_mathjax(tex, tmp_path):
    html, warnings = _build(tmp_path, SOURCE)
    assert warnings == ""
    assert "<math><mrow><msub><mi>α</mi><mn>1</mn></msub>" in html
    block = re.search(r'<div class="math[^"]*" id="equation-energy">(.*?)</div>', html, re.S)
    assert block, "the labelled equation's box"
    assert '<span class="eqno">(1)' in block.group(1) and '<math display="block">' in block.group(1)
    assert "mathjax" not in html.lower()


def test_a_sphinx_build_warns_with_the_formula_it_cannot_write(tex, tmp_path):
    html, warnings = _build(tmp_path, SOURCE + "\nBroken :math:`\\unknowncommand x`.\n")
    assert "cannot write the formula" in warnings and "\\\\unknowncommand x" in warnings
    assert "index.rst" in warnings  # where the formula is
    assert '<code class="gw-math-error">\\unknowncommand x</code>' in html


def test_a_tex_span_in_an_html_output_becomes_mathml(tex, tmp_path):
    # what gradwidgets.lessons.table(..., math=[...]) writes into a notebook's text/html output
    span = r'<span class="math notranslate nohighlight">\(\sigma(z) \le 1 &lt; 2\)</span>'
    html, warnings = _build(tmp_path, SOURCE + f"\n.. raw:: html\n\n   <td>{span}</td>\n")
    assert warnings == ""
    assert "<td><math><mrow><mi>σ</mi>" in html and "<mo>≤</mo>" in html and "<mo>&lt;</mo>" in html
    assert "\\(" not in html


def test_a_long_inline_formula_may_break_after_a_relation_as_in_tex(tex):
    long = r"\mathrm{Var}(W_l) = \frac{g^2}{n_\mathrm{in}} \approx \frac{1}{n_\mathrm{in}} + c - \epsilon_0"
    pieces = tex.to_mathml(long).split("<wbr>")
    assert [p.count("<math>") for p in pieces] == [1] * 5
    assert pieces[0].endswith("<mo>=</mo></mrow></math>") and pieces[1].endswith("<mo>≈</mo></mrow></math>")
    assert "<wbr>" not in tex.to_mathml("a = b")  # short: it fits any line
    assert "<wbr>" not in tex.to_mathml(long, display=True)
