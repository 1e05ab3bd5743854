"""Bokeh figures of gradient profiles and activations: pure functions of the core's dataclasses.

Every plot kind K has three functions. ``K_columns(obj)`` turns a dataclass into a dict of
equal-length numpy arrays; ``K_figure(source)`` binds glyphs to those column names and never
reads the data, so replacing ``source.data`` with another dict of the same kind redraws it
(auto-ranging follows); ``plot_K(obj)`` does both. This module gathers every public name:
gradient norms per layer (and A/B) in :mod:`~gradwidgets.plots.profile`, activation statistics
per layer in :mod:`~gradwidgets.plots.distribution`, the gradient through time of an RNN in
:mod:`~gradwidgets.plots.rnn`, the activation function in :mod:`~gradwidgets.plots.activation`,
training curves in :mod:`~gradwidgets.plots.training`, mixed precision in
:mod:`~gradwidgets.plots.precision` and the layer x step heatmap in
:mod:`~gradwidgets.plots.heatmap`, runs side by side in :mod:`~gradwidgets.plots.runs`, the
singular values of Jacobian products in :mod:`~gradwidgets.plots.spectrum`, case studies and
descent in their own modules, the shared log-scale conventions in :mod:`~gradwidgets.plots.base`,
axis ticks and :func:`stack` (figures one above another, aligned) in :mod:`~gradwidgets.plots.axes`,
legends that list only what is drawn in :mod:`~gradwidgets.plots.legends`
and colours, toolbar and status colours in :mod:`~gradwidgets.plots.theme`.

Log-scale plots keep zero, NaN and infinity in separate columns and keep both shaded zones in
view: see :mod:`~gradwidgets.plots.base`.
"""

from .activation import (
    activation_curve_columns,
    activation_figure,
    plot_activation_function,
    preactivation_hist_columns,
)
from .axes import stack
from .base import EXPLODING_ABOVE, VANISHING_BELOW, Z_RANGE
from .casestudies import plot_time_grads, plot_value_histograms, time_grad_columns, time_grad_figure
from .descent import (
    descent_exit_columns,
    descent_figure,
    descent_path_columns,
    descent_training_figure,
    loss_curve_columns,
)
from .distribution import (
    activation_distribution_columns,
    activation_distribution_figure,
    plot_activation_distribution,
)
from .heatmap import (
    HEATMAP_HIGH,
    HEATMAP_LOW,
    gradient_heatmap_columns,
    gradient_heatmap_figure,
    plot_gradient_heatmap,
)
from .precision import (
    fp16_histogram_columns,
    fp16_histogram_figure,
    fp16_layers_columns,
    fp16_layers_figure,
    plot_fp16_gradients,
    plot_scaling,
    scaling_columns,
    scaling_figure,
)
from .profile import (
    compare_figure,
    gradient_norms_columns,
    gradient_norms_figure,
    plot_compare,
    plot_gradient_norms,
)
from .rnn import plot_rnn_time_norms, rnn_time_norms_columns, rnn_time_norms_figure
from .runs import curves_columns, curves_figure, plot_curves, plot_losses
from .spectrum import plot_spectrum, spectrum_columns, spectrum_figure
from .theme import PALETTE
from .training import (
    divergence_columns,
    loss_columns,
    norm_columns,
    plot_training_curves,
    training_columns,
    training_figure,
)

__all__ = [
    "EXPLODING_ABOVE",
    "HEATMAP_HIGH",
    "HEATMAP_LOW",
    "PALETTE",
    "VANISHING_BELOW",
    "Z_RANGE",
    "activation_curve_columns",
    "activation_distribution_columns",
    "activation_distribution_figure",
    "activation_figure",
    "compare_figure",
    "curves_columns",
    "curves_figure",
    "descent_exit_columns",
    "descent_figure",
    "descent_path_columns",
    "descent_training_figure",
    "divergence_columns",
    "fp16_histogram_columns",
    "fp16_histogram_figure",
    "fp16_layers_columns",
    "fp16_layers_figure",
    "gradient_heatmap_columns",
    "gradient_heatmap_figure",
    "gradient_norms_columns",
    "gradient_norms_figure",
    "loss_columns",
    "loss_curve_columns",
    "norm_columns",
    "plot_activation_distribution",
    "plot_activation_function",
    "plot_compare",
    "plot_curves",
    "plot_fp16_gradients",
    "plot_gradient_heatmap",
    "plot_gradient_norms",
    "plot_losses",
    "plot_rnn_time_norms",
    "plot_scaling",
    "plot_spectrum",
    "plot_time_grads",
    "plot_training_curves",
    "plot_value_histograms",
    "preactivation_hist_columns",
    "rnn_time_norms_columns",
    "rnn_time_norms_figure",
    "scaling_columns",
    "scaling_figure",
    "spectrum_columns",
    "spectrum_figure",
    "stack",
    "time_grad_columns",
    "time_grad_figure",
    "training_columns",
    "training_figure",
]
