"""What only a chapter computes: worked examples, slopes, Jacobians, experiments, case studies, tables.

torch and numpy only, like :mod:`gradwidgets.core`, whose models and profiles these build on.
"""

from .attention import SoftmaxSaturation, softmax_saturation
from .backprop import (
    PARAMETER_NAMES,
    Backprop,
    ChainProduct,
    TinyNet,
    manual_backprop,
    tiny_example,
    tiny_loss,
)
from .casestudies import (
    CELLS,
    CNN_NORMS,
    SequenceModel,
    build_cnn,
    build_sequence_model,
    input_grad_norms,
    random_images,
    set_gate_bias,
)
from .descent import DescentRun, one_weight_descent
from .encoder import EncoderRegressor, build_encoder, init_matrices, random_tokens
from .jacobians import JacobianSpectrum, autograd_layer_jacobians, jacobian_singular_values, layer_jacobians
from .mixedtraining import PRECISIONS, MixedRun, train_mixed
from .normalization import Drift, InputScales, ShiftedNorm, activation_drift, inject_shift, input_scales
from .precision import (
    FloatFormat,
    FP16Gradients,
    RoundedUpdate,
    bf16_update,
    float_format,
    fp16_gradients,
    half_ulp,
)
from .regularization import ClipComparison, clip_comparison, l2_loss, parameter_norm
from .residual_scaling import (
    BRANCH_SCALINGS,
    ResidualScales,
    ResidualStack,
    build_residual_stack,
    residual_scales,
)
from .rounding import unmoved_above, unmoved_share
from .selfcheck import SelfCheck, self_check
from .slopes import (
    gaussian_slope_rms,
    measured_backward_factor,
    predicted_backward_factor,
    predicted_backward_factors,
    slope_rms,
)
from .tables import Table, format_value, pretty, table
from .transformers import (
    LayerGrads,
    TinyTransformer,
    build_transformer,
    ffn_grad_norms,
    mean_ffn_grad_norms,
    reversal_task,
)
from .warmup import train_with_warmup, warmup_run

__all__ = [
    "BRANCH_SCALINGS",
    "CELLS",
    "CNN_NORMS",
    "PARAMETER_NAMES",
    "PRECISIONS",
    "Backprop",
    "ChainProduct",
    "ClipComparison",
    "DescentRun",
    "Drift",
    "EncoderRegressor",
    "FP16Gradients",
    "FloatFormat",
    "InputScales",
    "JacobianSpectrum",
    "LayerGrads",
    "MixedRun",
    "ResidualScales",
    "ResidualStack",
    "RoundedUpdate",
    "SelfCheck",
    "SequenceModel",
    "ShiftedNorm",
    "SoftmaxSaturation",
    "Table",
    "TinyNet",
    "TinyTransformer",
    "activation_drift",
    "autograd_layer_jacobians",
    "bf16_update",
    "build_cnn",
    "build_encoder",
    "build_residual_stack",
    "build_sequence_model",
    "build_transformer",
    "clip_comparison",
    "ffn_grad_norms",
    "float_format",
    "format_value",
    "fp16_gradients",
    "gaussian_slope_rms",
    "half_ulp",
    "init_matrices",
    "inject_shift",
    "input_grad_norms",
    "input_scales",
    "jacobian_singular_values",
    "l2_loss",
    "layer_jacobians",
    "manual_backprop",
    "mean_ffn_grad_norms",
    "measured_backward_factor",
    "one_weight_descent",
    "parameter_norm",
    "predicted_backward_factor",
    "predicted_backward_factors",
    "pretty",
    "random_images",
    "random_tokens",
    "residual_scales",
    "reversal_task",
    "self_check",
    "set_gate_bias",
    "slope_rms",
    "softmax_saturation",
    "table",
    "tiny_example",
    "tiny_loss",
    "train_mixed",
    "train_with_warmup",
    "unmoved_above",
    "unmoved_share",
    "warmup_run",
]
