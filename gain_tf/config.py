"""GAINConfig: what to build and how to train it, nested as model / loss / optim / data sections.

Each variant the paper compares is a config, never a fork of the code (docs/evaluation.md, "Ablation study"):

* ``model.guidance``: ``'gradient'`` (GAIN: the image gradient ∇I guides), ``'edge'`` (a binary
  Canny edge map instead, as EdgeConnect) or ``'none'`` (no guidance stream, no second
  discriminator); see :mod:`gain_tf.guidance`.
* ``model.fusion``: ``'gai'`` (cross-stream Pconv_GI / Pconv_IG) or ``'none'``.
* ``model.mask_priority``: gradient-guided mask shrinkage in the first dilation blocks of branch 1.
* ``model.attention``: contextual attention at the end of branch 2; ``model.attention_mode``
  picks DeepFill's published op (default) or this project's earlier 'exact' variant.

Presets: ``paper`` (widths 64/128), ``small`` (16/32, CPU work), ``tiny`` (4/8, a shallower
network, for tests), ``demo`` (``tiny`` with the short-run recipe of ``make demo``) and ``photo``
(the shipped model's recipe: ``tiny`` at 64×64 on the photo dataset, then the same at 128×128
warm-started from it).

Every leaf field has a unique name, so overrides and command-line flags use it directly
(``get_config("tiny", guidance="none", steps=500)``, ``--guidance=none --steps=500``); the flags
are generated from the fields (:func:`define_flags`), with each field's help text.
"""
from __future__ import annotations

import dataclasses
import json
from typing import Tuple

GUIDANCE = ("gradient", "edge", "none")
FUSION = ("gai", "none")
ATTENTION_MODES = ("deepfill", "exact")
LR_DECAYS = ("constant", "cosine")


def _f(default, help, choices=None):
    """A config field with its flag help (and allowed values)."""
    return dataclasses.field(default=default, metadata={"help": help, "choices": choices})


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """The generator and discriminators (docs/design.md, "Deviations and choices")."""

    image_channels: int = _f(64, "Image-stream width at full resolution.")
    gradient_channels: int = _f(128, "Gradient-stream width at full resolution.")
    entry_kernel: int = _f(5, "Kernel of each branch's entry GAI-Block.")
    down_kernel: int = _f(3, "Kernel of the stride-2 GAI-Blocks.")
    num_downsamples: int = _f(2, "Stride-2 blocks per branch (attention works at 1/2^n).")
    dilations: Tuple[int, ...] = _f((2, 4, 8, 16), "Rates of one dilation block.")
    structure_dilation_blocks: int = _f(6, "Dilation blocks of branch 1 (structure).")
    content_dilation_blocks: int = _f(2, "Dilation blocks of branch 2 (content).")
    activation: str = _f("elu", "Activation of the GAI-Blocks (choice, as DeepFill).")
    mask_priority: bool = _f(True, "Ablation: gradient-guided mask-shrinkage priority.")
    mask_priority_blocks: int = _f(4, "Dilation blocks of branch 1 with the priority.")
    delta: float = _f(0.4, "Mask-shrinkage threshold δ relative to the per-sample maximum.")
    attention: bool = _f(True, "Ablation: contextual attention at the end of branch 2.")
    attention_ksize: int = _f(3, "Attention: matching patch size.")
    attention_stride: int = _f(1, "Attention: candidate grid step.")
    attention_rate: int = _f(2, "Attention: matching at 1/rate resolution.")
    attention_fuse_k: int = _f(3, "Attention: propagation (fuse) window.")
    attention_softmax_scale: float = _f(10.0, "Attention: softmax scale.")
    attention_fuse: bool = _f(True, "Attention: propagation on/off.")
    attention_mode: str = _f("deepfill", "Attention: DeepFill's published op, or 'exact' "
                             "(masked softmax, exact overlap, no wrap-around).", ATTENTION_MODES)
    guidance: str = _f("gradient", "Ablation: the guidance stream's input.", GUIDANCE)
    fusion: str = _f("gai", "Ablation: GAI cross-stream fusion.", FUSION)
    canny_low: int = _f(100, "Canny low threshold (guidance=edge).")
    canny_high: int = _f(200, "Canny high threshold (guidance=edge).")
    disc_channels: Tuple[int, ...] = _f((64, 128, 256, 256, 256, 256),
                                        "Discriminator widths (six 5×5 stride-2 convolutions).")
    disc_kernel: int = _f(5, "Discriminator kernel size.")
    disc_leaky_slope: float = _f(0.2, "Discriminator LeakyReLU slope.")

    def __post_init__(self):
        for name in ("guidance", "fusion", "attention_mode"):
            _check_choice(self, name)
        if self.mask_priority and self.guidance == "none":
            raise ValueError("--mask_priority needs a guidance stream (--guidance=gradient|edge)")
        if self.attention_mode == "deepfill" and self.attention_stride != 1:
            raise ValueError("--attention_mode=deepfill supports --attention_stride=1 only")
        if not 0.0 <= self.delta <= 1.0:
            raise ValueError(f"--delta must lie in [0, 1], got {self.delta}")

    @property
    def multiple(self) -> int:
        """H and W must be multiples of this (downsampling, and attention's rate)."""
        return 2 ** self.num_downsamples * (self.attention_rate if self.attention else 1)


@dataclasses.dataclass(frozen=True)
class LossConfig:
    """Loss weights:
    ``L_G = λ_l1 (L1_I + λ_∇l1 L1_∇I) + λ_adv (L_G^I + λ_∇adv L_G^∇I) + λ_E L_E + λ_S L_S``,
    ``L_D`` + λ_gp GP; the guidance terms and D^S see the guidance maps times ``guide_scale``.

    The paper's values are lost: these are choices (docs/design.md, "Deviations and choices"); the paper
    presets keep one shared weight (all guide_* fields 1)."""

    l1_weight: float = _f(1.0, "λ_l1 of the image and guidance L1 terms.")
    l1_hole_weight: float = _f(1.0, "Weight of hole pixels in the L1 terms (Liu et al. use 6).")
    adv_weight: float = _f(1.0, "λ_adv of the generator's hinge terms.")
    gp_weight: float = _f(10.0, "Gradient-penalty weight of both discriminators.")
    guide_scale: float = _f(1.0, "Scale s of the guidance map in its L1 and in D^S (s·∇I, s·∇I*): "
                            "a normalised gradient target; 1 = the map as it is.")
    guide_l1_weight: float = _f(1.0, "λ_∇l1: weight of the guidance L1 relative to the image's.")
    guide_adv_weight: float = _f(1.0, "λ_∇adv: weight of D^S's hinge term relative to D^I's.")
    energy_weight: float = _f(0.0, "λ_E: weight of the hole's gradient-energy match "
                              "(losses.gradient_energy_loss; not in the paper, 0 = off).")
    energy_window: int = _f(0, "Odd k > 0: λ_E matches k×k means of the gradient magnitude centred on "
                            "each hole pixel instead of the hole's mean per image.")
    ssim_weight: float = _f(0.0, "λ_S: weight of 1 − SSIM of the composite (losses.ssim_loss; not in "
                            "the paper, 0 = off).")

    def __post_init__(self):
        if self.energy_window < 0 or (self.energy_window and self.energy_window % 2 == 0):
            raise ValueError(f"--energy_window must be 0 or an odd window size, got {self.energy_window}")


@dataclasses.dataclass(frozen=True)
class OptimConfig:
    """Adam and its schedule; ``steps`` is the length of the run and of the schedule alike."""

    learning_rate: float = _f(1e-4, "Adam learning rate (peak, with --lr_decay=cosine).")
    lr_decay: str = _f("constant", "Schedule: constant (the paper) or cosine (to 0 at --steps).",
                       LR_DECAYS)
    beta_1: float = _f(0.5, "Adam β1 (choice, as DeepFill v2).")
    beta_2: float = _f(0.999, "Adam β2.")
    steps: int = _f(1_000_000, "Training steps (the cosine schedule ends there too).")
    clip_norm: float = _f(0.0, "Clip each optimiser's gradients (G; D^I and D^S together) to this "
                          "global norm before Adam; 0 = off (the paper).")

    def __post_init__(self):
        _check_choice(self, "lr_decay")
        if self.clip_norm < 0:
            raise ValueError(f"--clip_norm must be 0 (off) or positive, got {self.clip_norm}")
        if self.steps < 1:
            raise ValueError(f"--steps must be positive, got {self.steps}")


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """Training data: crop size, global batch and hole masks."""

    image_size: int = _f(256, "Training crop size.")
    batch_size: int = _f(8, "Global batch size.")
    masks: str = _f("free_form", "Training masks: 'free_form' (DeepFill v2), 'irregular' "
                    "(hole ratios spread over 10-60 %) or a folder of mask PNGs (white = hole).")
    max_shorter_side: int = _f(0, "Multi-scale crops: each image's shorter side is resized to a "
                               "random length in [image_size, min(this, its own)] before the crop "
                               "(0: image_size).")


SECTIONS = {"model": ModelConfig, "loss": LossConfig, "optim": OptimConfig, "data": DataConfig}
FIELDS = {f.name: (section, f) for section, cls in SECTIONS.items()
          for f in dataclasses.fields(cls)}                 # leaf name -> (section, field)
assert len(FIELDS) == sum(len(dataclasses.fields(c)) for c in SECTIONS.values()), "leaf clash"


def _check_choice(section, name):
    choices = FIELDS[name][1].metadata["choices"]
    if getattr(section, name) not in choices:
        raise ValueError(f"--{name} must be one of {choices}, got {getattr(section, name)!r}")


@dataclasses.dataclass(frozen=True)
class GAINConfig:
    """All of GAIN's choices: ``config.model``, ``.loss``, ``.optim``, ``.data``."""

    name: str = "paper"
    model: ModelConfig = ModelConfig()
    loss: LossConfig = LossConfig()
    optim: OptimConfig = OptimConfig()
    data: DataConfig = DataConfig()

    def replace(self, **changes) -> "GAINConfig":
        """A copy with leaf fields changed (``name`` too). Setting ``guidance='none'`` also turns
        the mask priority off unless ``mask_priority`` is given: there is no stream to guide it."""
        unknown = sorted(set(changes) - set(FIELDS) - {"name"})
        if unknown:
            raise ValueError(f"unknown config field(s) {unknown}; known: {sorted(FIELDS)}")
        if changes.get("guidance") == "none":
            changes.setdefault("mask_priority", False)
        sections = {}
        for section in SECTIONS:
            mine = {k: v for k, v in changes.items() if k in FIELDS and FIELDS[k][0] == section}
            for k, v in mine.items():
                if isinstance(FIELDS[k][1].default, tuple):
                    mine[k] = tuple(int(x) for x in v)
            sections[section] = dataclasses.replace(getattr(self, section), **mine)
        return dataclasses.replace(self, name=changes.get("name", self.name), **sections)

    def flat(self) -> dict:
        """``{leaf name: value}`` of every field (and ``name``)."""
        out = {"name": self.name}
        for section in SECTIONS:
            out.update(dataclasses.asdict(getattr(self, section)))
        return out

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "GAINConfig":
        """Reads :meth:`to_json`'s nested form, or the flat form of gain-tf 0.1 run folders (whose
        attention was the 'exact' algorithm: a flat file without ``attention_mode`` keeps it)."""
        data = json.loads(text)
        if "model" not in data:                        # flat, gain-tf 0.1
            data.setdefault("attention_mode", "exact")
            return cls().replace(**data)
        flat = {k: v for section in SECTIONS for k, v in data.get(section, {}).items()}
        return cls().replace(name=data.get("name", "paper"), **flat)


PRESETS = {
    "paper": GAINConfig(),
    "small": GAINConfig().replace(name="small", image_channels=16, gradient_channels=32,
                                  disc_channels=(16, 32, 64, 64, 64, 64), image_size=64),
    "tiny": GAINConfig().replace(name="tiny", image_channels=4, gradient_channels=8,
                                 structure_dilation_blocks=2, content_dilation_blocks=1,
                                 mask_priority_blocks=1, disc_channels=(8, 16, 16, 16, 16, 16),
                                 image_size=32, batch_size=4),
}
# `make demo`'s short-run recipe (docs/training.md, "What `make demo` shows"): how it was found is measured
# there; the paper's own settings are for 10^6 steps.
PRESETS["demo"] = PRESETS["tiny"].replace(
    name="demo", image_size=64, batch_size=8, steps=2500, learning_rate=2e-3, lr_decay="cosine",
    adv_weight=0.1, l1_hole_weight=6.0, masks="irregular", guide_scale=10.0)


# The shipped model's recipe (models/gain-photo/MODEL_CARD.md, docs/photo_model.md): `tiny` at
# 64×64 on multi-scale crops of the photo dataset (data_prep/build_photos.py), the demo's short-run
# losses, and the gradient target scaled by 10; each choice measured (docs/photo_model.md). Its
# stage 2 reruns it at --image_size=128, warm-started from stage 1.
PRESETS["photo"] = PRESETS["tiny"].replace(
    name="photo", image_size=64, batch_size=8, max_shorter_side=256, masks="irregular",
    steps=24000, learning_rate=1e-3, lr_decay="cosine", adv_weight=0.1, l1_hole_weight=6.0,
    guide_scale=10.0)

# The variants of the paper's ablation study, each a set of config overrides.
ABLATIONS = {
    "gain": {},
    "mask_priority_off": dict(mask_priority=False),
    "fusion_none": dict(fusion="none"),
    "guidance_edge": dict(guidance="edge"),
    "guidance_none": dict(guidance="none"),
    "attention_off": dict(attention=False),
}
DEFAULT_ABLATIONS = tuple(ABLATIONS)


def get_config(name: str, **overrides) -> GAINConfig:
    """A preset by name (``paper``, ``small``, ``tiny``, ``demo``) with leaf-field overrides."""
    if name not in PRESETS:
        raise ValueError(f"--config must be one of {sorted(PRESETS)}, got {name!r}")
    return PRESETS[name].replace(**overrides)


def define_flags(flag_values=None, preset="small") -> None:
    """Defines ``--config`` (a preset) and one flag per leaf field (default: the preset's value)."""
    from absl import flags
    fv = flags.FLAGS if flag_values is None else flag_values
    flags.DEFINE_enum("config", preset, sorted(PRESETS), "Preset of GAINConfig.", flag_values=fv)
    for name, (section, field) in FIELDS.items():
        help_text = f"[{section}] {field.metadata['help']} (default: the preset's)"
        kind = type(field.default)
        if field.metadata["choices"]:
            flags.DEFINE_enum(name, None, field.metadata["choices"], help_text, flag_values=fv)
        elif kind is tuple:
            flags.DEFINE_list(name, None, help_text, flag_values=fv)
        elif kind is bool:
            flags.DEFINE_bool(name, None, help_text, flag_values=fv)
        elif kind is int:
            flags.DEFINE_integer(name, None, help_text, flag_values=fv)
        elif kind is float:
            flags.DEFINE_float(name, None, help_text, flag_values=fv)
        else:
            flags.DEFINE_string(name, None, help_text, flag_values=fv)


def config_from_flags(flag_values=None) -> GAINConfig:
    """The ``--config`` preset with every config flag that was given."""
    from absl import flags
    fv = flags.FLAGS if flag_values is None else flag_values
    given = {name: fv[name].value for name in FIELDS if fv[name].value is not None}
    return get_config(fv["config"].value, **given)
