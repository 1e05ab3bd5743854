"""A chapter's self-check: short questions answered in the page, with no kernel.

The questions live in ``selfchecks.json`` (one list per chapter, in jupyterquiz's format). They
are drawn by jupyterquiz's own JavaScript and CSS, read from the installed package and inlined
into a ``text/html`` output: the static book executes it as it loads, JupyterLab when the cell
runs, and nothing is fetched from another site. One change to jupyterquiz's behaviour: it
never sees the page's MathJax. jupyterquiz reads ``MathJax.version`` whenever a global
``MathJax`` exists, and JupyterLab 4 defines one without it (the book has no MathJax: its
formulas are MathML): each answer then logged a TypeError. Its code runs in a closure where
``MathJax`` is undefined, so the questions hold plain text and Unicode, no TeX; its fallback
that loads MathJax from a CDN is removed as well.
"""

from __future__ import annotations

import html
import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

QUESTIONS = Path(__file__).with_name("selfchecks.json")
CDN_LINE = "script.src = 'https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-svg.js';"
"""jupyterquiz's fallback when MathJax is only partly there; replaced by ``return;``."""
COLORS = {
    "--jq-multiple-choice-bg": "#2b4a6f",
    "--jq-mc-button-bg": "#fafafa",
    "--jq-mc-button-border": "#e0e0e0e0",
    "--jq-mc-button-inset-shadow": "#555555",
    "--jq-many-choice-bg": "#2b4a6f",
    "--jq-numeric-bg": "#2b4a6f",
    "--jq-numeric-input-bg": "#f0f0f0",
    "--jq-numeric-input-label": "#101010",
    "--jq-numeric-input-shadow": "#999999",
    "--jq-string-bg": "#2b4a6f",
    "--jq-incorrect-color": "#c80202",
    "--jq-correct-color": "#009113",
    "--jq-text-color": "#fafafa",
    "--jq-link-color": "#9abafa",
}
"""jupyterquiz's palette with the book's blue in place of its purple."""
HIDDEN_RADIO = (
    ".gw-quiz .sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden;"
    " clip: rect(0 0 0 0); }"
)
"""jupyterquiz hides its radio buttons with the class ``sr-only``, which not every theme defines."""

_START = """
var roots = %(ids)s, tries = 0;
function start() {
  var missing = roots.filter(function (id) { return !document.getElementById(id); });
  if (missing.length && tries++ < 600) { setTimeout(start, 50); return; }
  roots.forEach(function (id) {
    var root = document.getElementById(id);
    if (!root || root.dataset.drawn) return;
    root.dataset.drawn = "1";
    show_questions(QUESTIONS[id], root);
  });
}
start();
"""
"""Draws each question into its container once the containers are in the page (in JupyterLab
the output's script can run before its HTML is attached)."""


def chapters() -> list[str]:
    """The chapters that have a self-check, in the file's order."""
    return list(json.loads(QUESTIONS.read_text(encoding="utf8")))


def questions(chapter: str) -> list[dict]:
    """``chapter``'s questions, as jupyterquiz's dictionaries."""
    every = json.loads(QUESTIONS.read_text(encoding="utf8"))
    if chapter not in every:
        raise ValueError(f"chapter must be one of {sorted(every)}, got {chapter!r}")
    return every[chapter]


def jupyterquiz_dir() -> Path:
    """Where jupyterquiz is installed, found without importing it (it imports IPython)."""
    spec = importlib.util.find_spec("jupyterquiz")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("self-checks need jupyterquiz: pip install 'gradwidgets[book]'")
    return Path(next(iter(spec.submodule_search_locations)))


def quiz_script(root: Path | None = None) -> str:
    """jupyterquiz's JavaScript, its files in its own order, with the CDN fallback removed."""
    root = root or jupyterquiz_dir()
    script = "\n".join(p.read_text(encoding="utf8") for p in sorted((root / "js").glob("*.js")))
    if script.count(CDN_LINE) != 2:
        raise RuntimeError("this jupyterquiz loads MathJax differently: check quiz_script")
    return script.replace(CDN_LINE, "return;")


@dataclass(frozen=True)
class SelfCheck:
    """A chapter's questions; shown as HTML, one container (class ``gw-quiz``) per question."""

    chapter: str
    questions: list[dict]

    def __repr__(self) -> str:
        return f"SelfCheck({self.chapter!r}, {len(self.questions)} questions)"

    def ids(self) -> list[str]:
        """The containers' element ids, one per question."""
        return [f"gw-quiz-{self.chapter}-{i}" for i in range(len(self.questions))]

    def _repr_html_(self) -> str:
        root = jupyterquiz_dir()
        variables = "".join(f"{k}: {v}; " for k, v in COLORS.items())
        css = f".gw-quiz {{ {variables}}}\n{HIDDEN_RADIO}\n" + (root / "styles.css").read_text(
            encoding="utf8"
        )
        attrs = (
            'data-shufflequestions="False" data-shuffleanswers="True" data-preserveresponses="false" '
            'data-numquestions="1" data-maxwidth="640" style="border-radius: 10px; text-align: left"'
        )
        divs = "".join(f'<div class="gw-quiz" id="{i}" {attrs}></div>' for i in self.ids())
        by_id = {i: [q] for i, q in zip(self.ids(), self.questions, strict=True)}
        body = (
            "var MathJax;  // the one jupyterquiz sees: none (the questions hold no TeX)\n"
            + "var QUESTIONS = "
            + json.dumps(by_id).replace("</", "<\\/")
            + ";\n"
            + quiz_script(root)
            + _START % {"ids": json.dumps(self.ids())}
        )
        label = html.escape(f"Self-check: {len(self.questions)} questions")
        return (
            f'<div class="gw-selfcheck" aria-label="{label}"><style>{css}</style>{divs}'
            f"<script>(function () {{\n{body}\n}})();</script></div>"
        )


def self_check(chapter: str) -> SelfCheck:
    """The self-check of ``chapter`` (a chapter's file name without ``.md``)."""
    return SelfCheck(chapter, questions(chapter))
