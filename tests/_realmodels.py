"""Real third-party models, built from configs with random weights (never a download).

Each builder seeds torch and returns ``(model, X, y)``: a tiny torchvision, timm or Hugging Face
transformers model in training mode with its dropout off (so two passes see the same function),
a batch and its integer targets, ready for a loss. A forward and backward pass of any of them
takes under 0.2 s on one CPU thread (ResNet-18, the largest; the rest under 0.05 s). The packages
come with the ``models`` extra (``make install``); they are imported when a builder is called,
after :func:`define_missing_torchvision_ops`, which importing this module runs.
"""

import importlib.machinery
import importlib.util
import os
import sys
from pathlib import Path

import torch
from torch import nn

# huggingface_hub (timm and transformers import it) reads this once, when it is first imported:
# offline, it never tries the network, and nothing here asks it for a file anyway.
os.environ["HF_HUB_OFFLINE"] = "1"

# PyPI's torchvision wheel for torch 2.13 is a CUDA build: beside the CPU torch its C++ extension
# (torchvision/_C.so) does not load (it links libc10_cuda.so), so torchvision's operators are never
# defined, and `import torchvision` then fails in torchvision/_meta_registrations.py, which
# registers fake kernels for torchvision::nms and torchvision::qnms whether or not the extension
# loaded ("operator torchvision::nms does not exist"). Those two are all the import needs (the
# other meta and autograd registrations wait for the extension). Defining their schemas, as
# torchvision's C++ sources do (torchvision/csrc/ops/nms.cpp, quantized/cpu/qnms_kernel.cpp),
# with no kernel, lets the import finish. None of the models tested here calls them (or any other
# torchvision operator: nms, roi_align, deform_conv2d and the like are detection ops); a call
# would fail with torchvision's own "Couldn't load custom C++ ops".
TORCHVISION_IMPORT_NEEDS = {
    "nms": "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms": "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
}


def define_missing_torchvision_ops() -> tuple[str, ...]:
    """Define the operators ``import torchvision`` needs when its extension cannot define them.

    Does nothing when torchvision is absent, already imported, or its extension loads (a
    matching torchvision): then its own definitions stand. Returns the names defined here.
    """
    spec = importlib.util.find_spec("torchvision")
    if spec is None or "torchvision" in sys.modules or _torchvision_extension_loads(spec):
        return ()
    defined = []
    for name, schema in TORCHVISION_IMPORT_NEEDS.items():
        if not hasattr(torch.ops.torchvision, name):
            torch.library.define(f"torchvision::{name}", schema)
            defined.append(name)
    return tuple(defined)


def _torchvision_extension_loads(spec: importlib.machinery.ModuleSpec) -> bool:
    """Load torchvision's ``_C`` as ``torchvision.extension`` would; False when it cannot."""
    for folder in spec.submodule_search_locations or ():
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = Path(folder) / f"_C{suffix}"
            if path.exists():
                try:
                    torch.ops.load_library(str(path))
                except OSError:
                    return False
                return True
    return False


TORCHVISION_OPS_DEFINED_HERE = define_missing_torchvision_ops()

BATCH = 2
CLASSES = 10
VOCAB = 100
TOKENS = 16


def _tokens(seed: int, classes: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Random token ids (BATCH, TOKENS) and targets: per token, or one class per sequence."""
    g = torch.Generator().manual_seed(seed)
    X = torch.randint(0, VOCAB, (BATCH, TOKENS), generator=g)
    shape = (BATCH,) if classes else (BATCH, TOKENS)
    return X, torch.randint(0, classes or VOCAB, shape, generator=g)


def _images(seed: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Random images (BATCH, 3, size, size) and class labels in 0..CLASSES-1."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(BATCH, 3, size, size, generator=g), torch.randint(0, CLASSES, (BATCH,), generator=g)


def gpt2_lm_head() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """Hugging Face GPT-2 with its LM head (tied to the token embedding); targets per token.

    Its attention and MLP layers are ``transformers.pytorch_utils.Conv1D``, not ``nn.Linear``.
    """
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    config = GPT2Config(
        n_layer=2,
        n_embd=64,
        n_head=4,
        vocab_size=VOCAB,
        n_positions=32,
        bos_token_id=VOCAB - 1,  # GPT-2's 50256 lies outside this vocabulary
        eos_token_id=VOCAB - 1,
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
    )
    return GPT2LMHeadModel(config), *_tokens(1)


def bert_sequence_classification() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """Hugging Face BERT classifying whole sequences into 3 classes (pooler, then classifier)."""
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=VOCAB,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=32,
        num_labels=3,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    return BertForSequenceClassification(config), *_tokens(2, classes=3)


def llama_causal_lm() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """Hugging Face Llama as a causal LM: given ``labels=y`` it computes its own (shifted) loss.

    RMSNorm, rotary positions, grouped-query attention and a gated MLP, all ``nn.Linear``.
    """
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=VOCAB,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=32,
    )
    return LlamaForCausalLM(config), *_tokens(3)


def torchvision_resnet18() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """torchvision's ResNet-18 (batch norm, in-place ReLU, residual additions) on 64x64 images."""
    from torchvision.models import resnet18

    torch.manual_seed(0)
    return resnet18(weights=None, num_classes=CLASSES), *_images(4, 64)


def torchvision_vit() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """torchvision's VisionTransformer, two layers on 32x32 images (``nn.MultiheadAttention``).

    Its head is zero-initialised by design, which would leave every other layer without a
    gradient; it is drawn at random here, as a trained head would be.
    """
    from torchvision.models import VisionTransformer

    torch.manual_seed(0)
    model = VisionTransformer(
        image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=32, mlp_dim=64, num_classes=CLASSES
    )
    nn.init.normal_(model.heads.head.weight, std=0.2)
    return model, *_images(5, 32)


def torchvision_mobilenet_v3_small() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """torchvision's MobileNetV3-Small (depthwise convolutions, squeeze-excitation) on 64x64 images."""
    from torchvision.models import mobilenet_v3_small

    torch.manual_seed(0)
    return mobilenet_v3_small(weights=None, num_classes=CLASSES, dropout=0.0), *_images(6, 64)


def timm_vit_tiny() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """timm's ViT-Tiny, two blocks with 8x8 patches of 32x32 images (fused qkv ``nn.Linear``)."""
    import timm

    torch.manual_seed(0)
    model = timm.create_model(
        "vit_tiny_patch16_224", pretrained=False, img_size=32, patch_size=8, depth=2, num_classes=CLASSES
    )
    return model, *_images(7, 32)


def timm_convnext_atto() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """timm's ConvNeXt-Atto (depthwise 7x7 convolutions, channels-last ``nn.Linear`` MLPs) on 32x32."""
    import timm

    torch.manual_seed(0)
    return timm.create_model("convnext_atto", pretrained=False, num_classes=CLASSES), *_images(8, 32)
