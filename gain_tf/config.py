"""GAINConfig: every architecture and training choice of GAIN_SPEC.md, and the paper's ablations.

Each variant the paper compares is a config, never a fork of the code:

* ``guidance``: ``'gradient'`` (GAIN: the image gradient ∇I guides), ``'edge'`` (a binary Canny edge
  map of the masked grayscale image instead, as in EdgeConnect), ``'none'`` (no guidance stream and
  no second discriminator: a plain two-branch partial-convolution network).
* ``fusion``: ``'gai'`` (cross-stream Pconv_GI / Pconv_IG) or ``'none'`` (two streams, no sharing).
* ``mask_priority``: gradient-guided mask shrinkage in the first dilation blocks of branch 1, or the
  ordinary partial-convolution mask update everywhere.
* ``attention``: contextual attention at the end of branch 2, or none; ``attention_mode`` picks
  DeepFill's published op (default) or this project's earlier 'exact' variant.

Presets: ``paper`` (widths 64/128, the spec), ``small`` (16/32, CPU work) and ``tiny`` (4/8 and a
shallower network, for tests).
"""
from __future__ import annotations

import dataclasses
import json
from typing import Tuple

GUIDANCE = ("gradient", "edge", "none")
ATTENTION_MODES = ("deepfill", "exact")
LR_DECAYS = ("constant", "cosine")
FUSION = ("gai", "none")


@dataclasses.dataclass(frozen=True)
class GAINConfig:
    """All of GAIN's choices. Field comments cite GAIN_SPEC.md; "choice" marks our decisions."""

    name: str = "paper"
    # --- generator widths and geometry ("Generator G")
    image_channels: int = 64            # image stream width at full resolution
    gradient_channels: int = 128        # gradient stream width at full resolution
    entry_kernel: int = 5
    down_kernel: int = 3
    num_downsamples: int = 2            # channels double at each; attention works at 1/4
    dilations: Tuple[int, ...] = (2, 4, 8, 16)   # one dilation block = one GAI-Block per rate
    structure_dilation_blocks: int = 6  # branch 1
    content_dilation_blocks: int = 2    # branch 2
    activation: str = "elu"             # choice (as DeepFill)
    # --- mask-shrinkage priority
    mask_priority: bool = True
    mask_priority_blocks: int = 4       # the first four dilation blocks of branch 1
    delta: float = 0.4
    # --- contextual attention
    attention: bool = True
    attention_ksize: int = 3
    attention_stride: int = 1
    attention_rate: int = 2
    attention_fuse_k: int = 3
    attention_softmax_scale: float = 10.0
    attention_fuse: bool = True
    attention_mode: str = "deepfill"    # "deepfill" (Yu et al.'s published op) or "exact" (ours)
    # --- ablation switches
    guidance: str = "gradient"
    fusion: str = "gai"
    canny_low: int = 100                # choice: thresholds of the 'edge' variant (OpenCV Canny)
    canny_high: int = 200
    # --- discriminators ("Discriminators and losses")
    disc_channels: Tuple[int, ...] = (64, 128, 256, 256, 256, 256)
    disc_kernel: int = 5
    disc_leaky_slope: float = 0.2
    # --- losses (weights are lost in the paper: choice 1 and 1)
    l1_weight: float = 1.0
    l1_hole_weight: float = 1.0         # choice: weight of hole pixels in both L1 terms (Liu et al. use 6)
    adv_weight: float = 1.0
    gp_weight: float = 10.0
    # --- training ("Training set-up of the paper")
    image_size: int = 256
    batch_size: int = 8
    learning_rate: float = 1e-4
    lr_decay: str = "constant"          # choice: "constant" (the paper) or "cosine" (to 0 at `steps`)
    beta_1: float = 0.5                 # choice (DeepFill v2)
    beta_2: float = 0.999
    steps: int = 1_000_000

    def __post_init__(self):
        if self.guidance not in GUIDANCE:
            raise ValueError(f"--guidance must be one of {GUIDANCE}, got {self.guidance!r}")
        if self.fusion not in FUSION:
            raise ValueError(f"--fusion must be one of {FUSION}, got {self.fusion!r}")
        if self.mask_priority and self.guidance == "none":
            raise ValueError("--mask_priority=on needs a guidance stream (--guidance=gradient|edge)")
        if self.lr_decay not in LR_DECAYS:
            raise ValueError(f"--lr_decay must be one of {LR_DECAYS}, got {self.lr_decay!r}")
        if self.attention_mode not in ATTENTION_MODES:
            raise ValueError(f"--attention_mode must be one of {ATTENTION_MODES}, "
                             f"got {self.attention_mode!r}")
        if self.attention_mode == "deepfill" and self.attention_stride != 1:
            raise ValueError("--attention_mode=deepfill supports attention_stride=1 only")
        if not 0.0 <= self.delta <= 1.0:
            raise ValueError(f"--delta must lie in [0, 1], got {self.delta}")

    @property
    def multiple(self) -> int:
        """H and W must be multiples of this (downsampling, and attention's rate)."""
        return 2 ** self.num_downsamples * (self.attention_rate if self.attention else 1)

    @property
    def guidance_channels(self) -> int:
        """Channels of the guidance map: (∂x, ∂y) for gradients, one binary map for edges."""
        return {"gradient": 2, "edge": 1, "none": 0}[self.guidance]

    def replace(self, **changes) -> "GAINConfig":
        return dataclasses.replace(self, **changes)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "GAINConfig":
        data = json.loads(text)
        # Runs written before attention_mode existed used the 'exact' attention: keep it.
        data.setdefault("attention_mode", "exact")
        for key in ("dilations", "disc_channels"):
            data[key] = tuple(data[key])
        return cls(**data)


PRESETS = {
    "paper": GAINConfig(),
    "small": GAINConfig(name="small", image_channels=16, gradient_channels=32,
                        disc_channels=(16, 32, 64, 64, 64, 64), image_size=64, batch_size=8),
    "tiny": GAINConfig(name="tiny", image_channels=4, gradient_channels=8,
                       structure_dilation_blocks=2, content_dilation_blocks=1,
                       mask_priority_blocks=1, disc_channels=(8, 16, 16, 16, 16, 16),
                       image_size=32, batch_size=4),
}


# The variants of the paper's ablation study, each a set of config overrides.
ABLATIONS = {
    "gain": {},
    "mask_priority_off": dict(mask_priority=False),
    "fusion_none": dict(fusion="none"),
    "guidance_edge": dict(guidance="edge"),
    "guidance_none": dict(guidance="none", mask_priority=False),
    "attention_off": dict(attention=False),
}
DEFAULT_ABLATIONS = ("gain", "mask_priority_off", "fusion_none", "guidance_edge", "guidance_none",
                     "attention_off")


def get_config(name: str, **overrides) -> GAINConfig:
    """A preset by name (``paper``, ``small``, ``tiny``) with field overrides."""
    if name not in PRESETS:
        raise ValueError(f"--config must be one of {sorted(PRESETS)}, got {name!r}")
    return PRESETS[name].replace(**overrides)
