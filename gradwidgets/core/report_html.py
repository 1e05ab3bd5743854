"""A :class:`.report.Report` as HTML: its table, flags, thresholds and remedies."""

from __future__ import annotations

import html

__all__ = ["report_html"]

_FLAG_STYLE = "background:#fde0dd"

_REPORT_CSS = (
    "<style>.gw-report table{font-size:0.8em;display:block;overflow-x:auto;text-align:right}"
    ".gw-report td,.gw-report th{padding:1px 6px;white-space:nowrap}</style>"
)
"""The report table's own style: compact, one line per layer, scrolling sideways when too wide."""


def report_html(report, chapters: dict[str, str], guide: str) -> str:
    """A :class:`.report.Report` as an HTML table with its flags, thresholds and remedies.

    ``chapters`` names the book's chapters by key; ``guide`` links to how to read a report.
    """
    esc = html.escape
    head = "".join(f"<th>{esc(h)}</th>" for h in (*report._HEADER, "flags"))
    body = []
    for r in report.rows():
        style = f' style="{_FLAG_STYLE}"' if r["flags"] else ""
        cells = "".join(f"<td>{esc(c)}</td>" for c in report._cells(r))
        flags = esc(" ".join(r["flags"])) + (" <i>(frozen)</i>" if r["frozen"] else "")
        body.append(f"<tr{style}>{cells}<td><b>{flags}</b></td></tr>")
    rules = "".join(f"<li><b>{esc(f)}</b>: {esc(rule)}</li>" for f, rule in report.thresholds)
    remedies = "".join(
        f"<li><b>{esc(r.flag)}</b> in {esc(r.where)}: {esc(r.advice)}. See "
        + ", ".join(
            f'<a href="{esc(u)}">{esc(chapters[k])}</a>' for k, u in zip(r.chapters, r.links, strict=True)
        )
        + "</li>"
        for r in report.remedies
    )
    return (
        f'<div class="gw-report">{_REPORT_CSS}<p><b>{esc(report.summary())}</b></p>'
        f"<table><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>" + "".join(f"<p>{esc(n)}</p>" for n in report.notes) + ""
        f"<p>Flags and their thresholds:</p><ul>{rules}</ul>"
        + (f"<p>Remedies:</p><ul>{remedies}</ul>" if remedies else "")
        + f'<p><a href="{esc(guide)}">How to read this report</a></p></div>'
    )
