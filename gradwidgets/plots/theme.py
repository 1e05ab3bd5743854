"""One look for every figure: the Okabe–Ito colorblind-safe palette, the toolbar, the status colors
and a ``style`` function.

Every color the package draws with is defined here, from the figures' glyphs to the status line
under an explorer (live and static faces alike), so a change of look is a change of this module.
"""

from __future__ import annotations

from bokeh.models import BasicTickFormatter, LinearAxis, LogAxis
from bokeh.plotting import figure

from .axes import BORDER_LEFT, log_formatter, log_ticker, short_formatter
from .legends import follow_data, legend_columns

PALETTE = ("#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7")
"""Okabe & Ito (2008): black, orange, sky blue, bluish green, yellow, blue, vermillion, reddish purple."""

BLACK, ORANGE, SKY, GREEN, YELLOW, BLUE, VERMILLION, PURPLE = PALETTE

SERIES_COLORS = (BLUE, ORANGE, GREEN, VERMILLION, PURPLE, SKY, BLACK)
"""Colors of the runs drawn together on one figure, in order (see :mod:`~gradwidgets.plots.runs`)."""
SERIES_DASHES = ("solid", "dashed", "solid", "dotdash", "solid", "dashed", "dotted")
"""Line dashes paired with :data:`SERIES_COLORS`, so neighbouring runs differ in more than color."""
MARKED_SERIES_COLORS = (BLUE, ORANGE, GREEN, PURPLE)
"""Colors of series on a log figure, where vermillion is kept for the non-finite markers."""

STATUS_OK = "#444"
"""Text color of an explorer's status line."""
STATUS_PROBLEM = VERMILLION
"""Text color of an explorer's status line when the result shows a problem."""

TOOLS = "pan,wheel_zoom,box_zoom,reset,save"
"""The toolbar of every figure."""
TOOLS_WITHOUT_BOX_ZOOM = "pan,wheel_zoom,reset,save"
"""The toolbar of a figure whose view is fitted to one curve (the descent on a loss curve)."""

HEIGHT = 280
"""Height in pixels of one panel; the width follows the page (``stretch_width``)."""

LEGEND_ROW = 20
"""Pixels a figure grows by for each extra row of a legend wrapped to fit a phone."""

_FONT = "13px"


def style(fig: figure, height: int = HEIGHT) -> figure:
    """Apply the house look to ``fig`` in place and return it.

    Parameters
    ----------
    fig : bokeh.plotting.figure
        Call after the glyphs are added, so the legend (if any) is styled too.
    height : int
        Panel height in pixels.

    Returns
    -------
    bokeh.plotting.figure
        The same figure: width follows the page (down to a phone's), fixed height, no Bokeh
        logo, readable fonts; log axes labelled every decade or every few
        (:func:`~gradwidgets.plots.axes.log_ticker`), linear axes with short labels
        (:func:`~gradwidgets.plots.axes.short_formatter`, unless a formatter was chosen),
        :data:`~gradwidgets.plots.axes.BORDER_LEFT` left of the frame so stacked frames line up;
        legends that list only what is drawn and wrap to a phone's width
        (:mod:`~gradwidgets.plots.legends`).
    """
    fig.sizing_mode = "stretch_width"
    fig.height = height
    fig.min_width = 280
    fig.min_border_left = max(BORDER_LEFT, fig.min_border_left or 0)
    fig.toolbar.logo = None
    fig.toolbar.autohide = True
    fig.background_fill_color = "white"
    fig.border_fill_color = "white"
    fig.outline_line_color = None
    fig.title.text_font_size = "14px"
    fig.title.text_font_style = "bold"
    for axis in fig.axis:
        if isinstance(axis, LogAxis):
            axis.ticker, axis.formatter = log_ticker(height), log_formatter()
            axis.minor_tick_line_color = BLACK  # the unlabelled decades, if any
        elif isinstance(axis, LinearAxis) and type(axis.formatter) is BasicTickFormatter:
            axis.formatter = short_formatter()
        axis.axis_label_text_font_size = _FONT
        axis.axis_label_text_font_style = "normal"
        axis.major_label_text_font_size = "12px"
    for grid in fig.grid:
        grid.grid_line_alpha = 0.35
    for legend in fig.legend:
        legend.label_text_font_size = "12px"
        legend.background_fill_alpha = 0.8
        legend.border_line_alpha = 0.3
        legend.click_policy = "hide"
        legend.spacing = 14 if legend.orientation == "horizontal" else 2  # items side by side
        legend.padding = 4
        legend.margin = 4
        legend.glyph_width = 18
        if legend.orientation == "horizontal":
            legend.ncols = legend_columns(legend)
            rows = -(-len(legend.items) // legend.ncols)
            if rows > 1:  # wrapped to fit a phone: tighter rows, and the frame keeps its height
                legend.spacing = 6
                fig.height += (rows - 1) * LEGEND_ROW
    follow_data(fig)
    return fig
