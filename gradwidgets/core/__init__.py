"""The core: models, data, tracing, norms, statistics, profiles, training, watch and diagnosis.

torch and numpy only: everything a training script needs, without the plotting stack.
"""

from .activations import ACTIVATIONS, Activation, get_activation
from .coverage import Coverage
from .data import DATASETS, Dataset, make_dataset
from .diagnosis import diagnose
from .history import History, StepRecord
from .inits import INITS, Init, get_init
from .losses import LOSSES
from .models import MLP, NORMS, ElmanRNN, build_mlp, build_rnn, spectral_radius
from .nonfinite import NonFinite, find_nonfinite
from .profile import GradientProfile, gradient_profile
from .report import Report
from .thresholds import SATURATION_THRESHOLD, THRESHOLDS
from .training import OPTIMIZERS, train
from .watcher import Watch

__all__ = [
    "ACTIVATIONS",
    "DATASETS",
    "INITS",
    "LOSSES",
    "MLP",
    "NORMS",
    "OPTIMIZERS",
    "SATURATION_THRESHOLD",
    "THRESHOLDS",
    "Activation",
    "Coverage",
    "Dataset",
    "ElmanRNN",
    "GradientProfile",
    "History",
    "Init",
    "NonFinite",
    "Report",
    "StepRecord",
    "Watch",
    "build_mlp",
    "build_rnn",
    "diagnose",
    "find_nonfinite",
    "get_activation",
    "get_init",
    "gradient_profile",
    "make_dataset",
    "spectral_radius",
    "train",
]
