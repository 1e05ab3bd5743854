"""gradwidgets: see vanishing and exploding gradients, layer by layer, on real autograd."""

from .activations import ACTIVATIONS, Activation, get_activation
from .data import DATASETS, Dataset, make_dataset
from .diagnosis import THRESHOLDS, diagnose
from .explorer import Control, Explorer, Result
from .inits import INITS, Init, get_init
from .losses import LOSSES
from .models import MLP, NORMS, ElmanRNN, build_mlp, build_rnn, spectral_radius
from .notebook import setup_notebook
from .probes import GradientProfile, gradient_profile
from .report import Report
from .saturated import SATURATION_THRESHOLD
from .training import OPTIMIZERS, History, StepRecord, train
from .watch_view import watch
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
    "Control",
    "Dataset",
    "ElmanRNN",
    "Explorer",
    "GradientProfile",
    "History",
    "Init",
    "Report",
    "Result",
    "StepRecord",
    "Watch",
    "build_mlp",
    "build_rnn",
    "diagnose",
    "get_activation",
    "get_init",
    "gradient_profile",
    "make_dataset",
    "setup_notebook",
    "spectral_radius",
    "train",
    "watch",
]
__version__ = "0.1.0"
