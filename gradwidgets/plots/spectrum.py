"""The Jacobian-spectrum figure: singular values of ``J_D ⋯ J_l`` against ``l``, on a log axis.

Same contract as :mod:`gradwidgets.plots`: :func:`spectrum_columns` turns a
:class:`~gradwidgets.lessons.JacobianSpectrum` into two dicts of columns, ``cloud`` and
``lines``; :func:`spectrum_figure` binds glyphs to those column names without reading them;
:func:`plot_spectrum` does both.
"""

from __future__ import annotations

import numpy as np
from bokeh.models import ColumnDataSource, HoverTool, Span
from bokeh.plotting import figure

from ..lessons.jacobians import JacobianSpectrum
from .theme import BLACK, BLUE, GREEN, ORANGE, SKY, TOOLS, VERMILLION, style


def spectrum_columns(spectrum: JacobianSpectrum) -> dict[str, dict[str, np.ndarray]]:
    """The singular values of every product ``J_D ⋯ J_l``, as the columns of two sources.

    Parameters
    ----------
    spectrum : JacobianSpectrum
        From :func:`gradwidgets.lessons.jacobian_singular_values`.

    Returns
    -------
    dict of str to dict of str to numpy.ndarray
        ``cloud``: ``layer`` and ``sigma``, one row per nonzero singular value of every product
        (a log axis cannot show 0). ``lines``: one row per layer, ``layer``, ``smax``, ``srms``,
        ``smin`` (NaN where 0), ``bound`` (the product of the layers' own ``σmax``), ``gain``
        (``|dL/dh_l-1| / |dL/dh_D|``, NaN without a gradient) and ``one`` (ones, which keep 1
        in view).
    """
    layers = spectrum.layers.astype(np.float64)
    xs = np.concatenate([np.full(len(s), x) for x, s in zip(layers, spectrum.product_values, strict=True)])
    ss = np.concatenate(spectrum.product_values)
    keep = ss > 0
    bound = np.cumprod(spectrum.layer_sigma_max[::-1])[::-1]  # σmax(J_l) ⋯ σmax(J_D)
    gain = spectrum.gradient_gain if spectrum.gradient_gain is not None else np.full(len(layers), np.nan)
    smin = spectrum.sigma_min
    return {
        "cloud": {"layer": xs[keep], "sigma": ss[keep]},
        "lines": {
            "layer": layers,
            "smax": spectrum.sigma_max,
            "srms": spectrum.sigma_rms,
            "smin": np.where(smin > 0, smin, np.nan),
            "bound": bound,
            "gain": np.asarray(gain, dtype=np.float64),
            "one": np.ones(len(layers)),
        },
    }


def spectrum_figure(cloud: ColumnDataSource, lines: ColumnDataSource) -> figure:
    """Singular values of ``J_D ⋯ J_l`` against ``l`` on a log axis, with 1 marked.

    Parameters
    ----------
    cloud : ColumnDataSource
        Holds ``spectrum_columns(spectrum)["cloud"]``: a dot per singular value.
    lines : ColumnDataSource
        Holds ``spectrum_columns(spectrum)["lines"]``: ``σmax``, ``σrms``, ``σmin``, the bound
        ``∏ σmax(J_k)`` as lines and this input's gradient gain as diamonds.

    Returns
    -------
    bokeh.plotting.figure
    """
    fig = figure(title="Singular values of the product J_D ⋯ J_l", y_axis_type="log", tools=TOOLS)
    fig.add_layout(Span(location=1.0, dimension="width", line_color=BLACK, line_dash="dotted", line_width=1))
    fig.scatter("layer", "one", source=lines, size=1, line_color=None, fill_color=None)  # keeps 1 in range
    fig.scatter("layer", "sigma", source=cloud, size=4, color=SKY, alpha=0.45, legend_label="every σ")
    fig.line(
        "layer",
        "bound",
        source=lines,
        color=ORANGE,
        line_dash="dashed",
        line_width=2,
        legend_label="∏ σmax(J_k)",
    )
    top = fig.line("layer", "smax", source=lines, color=BLUE, line_width=2.5, legend_label="σmax")
    rms = fig.line("layer", "srms", source=lines, color=GREEN, line_width=2.5, legend_label="σrms")
    fig.line("layer", "smin", source=lines, color=VERMILLION, line_width=2.5, legend_label="σmin")
    dots = fig.scatter(
        "layer",
        "gain",
        source=lines,
        marker="diamond",
        size=10,
        color=BLACK,
        legend_label="this input's gradient",
    )
    fig.add_tools(
        HoverTool(
            renderers=[top, rms, dots],
            tooltips=[
                ("layer", "@layer{0}"),
                ("σmax", "@smax{%.3e}"),
                ("σrms", "@srms{%.3e}"),
                ("σmin", "@smin{%.3e}"),
                ("∏ σmax(J_k)", "@bound{%.3e}"),
                ("‖dL/dh_l-1‖ / ‖dL/dh_D‖", "@gain{%.3e}"),
            ],
            formatters={f"@{c}": "printf" for c in ("smax", "srms", "smin", "bound", "gain")},
        )
    )
    fig.xaxis.axis_label = "layer l (input → output) of the product J_D ⋯ J_l"
    fig.yaxis.axis_label = "singular value (log scale)"
    fig.legend.location = "top_left"
    fig.legend.orientation = "horizontal"
    fig.add_layout(fig.legend[0], "above")
    return style(fig, height=380)


def plot_spectrum(spectrum: JacobianSpectrum) -> figure:
    """Plot the singular values of the Jacobian products of ``spectrum``: see :func:`spectrum_figure`."""
    columns = spectrum_columns(spectrum)
    return spectrum_figure(ColumnDataSource(columns["cloud"]), ColumnDataSource(columns["lines"]))
