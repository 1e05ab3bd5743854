"""gradwidgets.plots.theme: the one home of the toolbar, the palette and the status colors."""

import re
from pathlib import Path

from bokeh.models import ColumnDataSource

from gradwidgets.plots import curves_columns, curves_figure, plot_time_grads
from gradwidgets.plots.theme import (
    BLUE,
    MARKED_SERIES_COLORS,
    PALETTE,
    SERIES_COLORS,
    SERIES_DASHES,
    STATUS_OK,
    STATUS_PROBLEM,
    TOOLS,
    TOOLS_WITHOUT_BOX_ZOOM,
    VERMILLION,
    style,
)
from gradwidgets.widgets import live

PACKAGE = Path(__file__).resolve().parents[1] / "gradwidgets"
THEMED = [
    *sorted((PACKAGE / "plots").glob("*.py")),
    *sorted((PACKAGE / "explorers").glob("*.py")),
    PACKAGE / "widgets" / "live.py",
    PACKAGE / "widgets" / "static.py",
]


def test_no_color_or_toolbar_is_spelled_out_outside_the_theme():
    found = []
    for path in THEMED:
        if path.name == "theme.py":
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"#[0-9a-fA-F]{3}\b|#[0-9a-fA-F]{6}\b|tools=[\"']|pan,wheel_zoom", line):
                found.append(f"{path.relative_to(PACKAGE)}:{n}: {line.strip()}")
    assert not found, "\n".join(found)


def test_toolbars_and_series_come_from_the_palette():
    assert TOOLS == "pan,wheel_zoom,box_zoom,reset,save"
    assert set(TOOLS_WITHOUT_BOX_ZOOM.split(",")) == set(TOOLS.split(",")) - {"box_zoom"}
    assert set(SERIES_COLORS) <= set(PALETTE) and len(set(SERIES_COLORS)) == len(SERIES_COLORS) == 7
    assert len(SERIES_DASHES) == len(SERIES_COLORS)
    assert set(MARKED_SERIES_COLORS) <= set(PALETTE) and VERMILLION not in MARKED_SERIES_COLORS
    assert SERIES_COLORS[0] == MARKED_SERIES_COLORS[0] == BLUE


def test_runs_are_drawn_in_the_theme_series_order():
    sources = [ColumnDataSource(curves_columns([0, 1], [1, 2])) for _ in range(3)]
    fig = curves_figure(sources, ["a", "b", "c"], "t", "x", "y")
    lines = [r.glyph for r in fig.renderers if r.glyph.__class__.__name__ == "Line"]  # each with its dots
    assert [g.line_color for g in lines] == list(SERIES_COLORS[:3])
    assert [g.line_dash for g in lines] == [[], [6], []]  # solid, dashed, solid
    assert [t.__class__.__name__ for t in fig.toolbar.tools[:5]] == [
        "PanTool",
        "WheelZoomTool",
        "BoxZoomTool",
        "ResetTool",
        "SaveTool",
    ]


def test_time_series_keep_vermillion_for_non_finite_markers():
    fig = plot_time_grads({"a": [1.0, 2.0], "b": [1.0, float("nan")]})
    lines = [r.glyph for r in fig.renderers if r.glyph.__class__.__name__ == "Line"]
    assert [g.line_color for g in lines] == list(MARKED_SERIES_COLORS[:2])


def test_both_faces_color_the_status_from_the_theme():
    assert STATUS_PROBLEM == VERMILLION and STATUS_OK == "#444"
    assert f'color:{STATUS_PROBLEM}">' in live._status_html("x", True)
    assert f'color:{STATUS_OK}">' in live._status_html("x", False)
    # the static face's callback: tests/test_widgets_switch_js.py


def test_style_is_idempotent_and_returns_the_figure():
    from bokeh.plotting import figure

    fig = figure()
    assert style(style(fig, height=200)) is fig
    assert fig.height == 280 and fig.sizing_mode == "stretch_width" and fig.toolbar.logo is None
    assert len(PALETTE) == 8 and len(set(PALETTE)) == 8
