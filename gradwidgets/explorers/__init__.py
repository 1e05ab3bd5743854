"""The course's explorers: each call returns an :class:`~gradwidgets.Explorer` to display."""

from .casestudies import cnn_flow, sequence_memory
from .descent import learning_rate, one_weight_problem
from .flow import compare, gradient_flow, init_variance
from .precision import fp16_range, loss_scaling, scaled_run
from .regularization import weight_decay
from .saturation import saturation
from .spectrum import jacobian_spectrum
from .trainers import clipping, norm_training
from .transformers import layer_norm_placement, warmup_training

CATALOG = {
    "gradient_flow": gradient_flow,
    "init_variance": init_variance,
    "compare": compare,
    "saturation": saturation,
    "norm_training": norm_training,
    "clipping": clipping,
    "weight_decay": weight_decay,
    "learning_rate": learning_rate,
    "jacobian_spectrum": jacobian_spectrum,
    "cnn_flow": cnn_flow,
    "sequence_memory": sequence_memory,
    "fp16_range": fp16_range,
    "loss_scaling": loss_scaling,
    "layer_norm_placement": layer_norm_placement,
    "warmup_training": warmup_training,
}
"""Every explorer factory by name, with its default arguments."""

__all__ = [
    "CATALOG",
    "clipping",
    "cnn_flow",
    "compare",
    "fp16_range",
    "gradient_flow",
    "init_variance",
    "jacobian_spectrum",
    "layer_norm_placement",
    "learning_rate",
    "loss_scaling",
    "norm_training",
    "one_weight_problem",
    "saturation",
    "scaled_run",
    "sequence_memory",
    "warmup_training",
    "weight_decay",
]
