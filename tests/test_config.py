"""GAINConfig: nested sections, leaf overrides, the guidance rule, JSON (nested and 0.1's flat), flags."""
import json

import pytest
from absl import flags

from gain_tf import config as cfg
from gain_tf.config import ABLATIONS, PRESETS, GAINConfig, get_config


def test_sections_hold_each_field_once_and_presets_differ_where_they_say():
    names = [f for f in cfg.FIELDS]
    assert len(names) == len(set(names)) and "steps" in names and "guidance" in names
    paper, tiny, demo = PRESETS["paper"], PRESETS["tiny"], PRESETS["demo"]
    assert (paper.model.image_channels, paper.model.gradient_channels) == (64, 128)
    assert (tiny.model.image_channels, tiny.model.structure_dilation_blocks) == (4, 2)
    changed = {k for k, v in demo.flat().items() if tiny.flat()[k] != v}
    assert changed == {"name", "image_size", "batch_size", "steps", "learning_rate", "lr_decay",
                       "adv_weight", "l1_hole_weight", "masks", "guide_scale"}
    assert demo.optim.steps == 2500 and demo.data.masks == "irregular"


def test_overrides_validation_and_the_guidance_rule():
    c = get_config("tiny", guidance="none")            # no stream: no priority, said once
    assert c.model.guidance == "none" and not c.model.mask_priority
    assert get_config("tiny", **ABLATIONS["guidance_none"]) == c
    with pytest.raises(ValueError, match="--mask_priority needs a guidance stream"):
        get_config("tiny", guidance="none", mask_priority=True)
    with pytest.raises(ValueError, match="--guidance must be one of"):
        get_config("tiny", guidance="canny")
    with pytest.raises(ValueError, match="unknown config field"):
        get_config("tiny", image_chanels=3)
    with pytest.raises(ValueError, match="--energy_window must be 0 or an odd"):
        get_config("tiny", energy_window=4)
    with pytest.raises(ValueError, match=r"--clip_norm must be 0 \(off\) or positive, got -1"):
        get_config("tiny", clip_norm=-1.0)
    with pytest.raises(ValueError, match="--config must be one of"):
        get_config("huge")
    assert get_config("tiny", dilations=[2, 4]).model.dilations == (2, 4)


def test_json_round_trip_and_the_flat_form_of_version_0_1():
    c = get_config("small", steps=77, guidance="edge", attention_mode="exact")
    assert GAINConfig.from_json(c.to_json()) == c
    nested = json.loads(c.to_json())
    assert set(nested) == {"name", "model", "loss", "optim", "data"}
    flat = {k: v for k, v in c.flat().items() if k not in ("attention_mode", "masks")}
    old = GAINConfig.from_json(json.dumps(flat))
    assert old.model.attention_mode == "exact" and old.optim.steps == 77
    assert old == c.replace(masks="free_form")


def test_flags_are_generated_from_the_fields():
    fv = flags.FlagValues()
    cfg.define_flags(fv, preset="tiny")
    fv(["prog", "--config=small", "--steps=12", "--guidance=none", "--noattention",
        "--dilations=2,4", "--learning_rate=0.5"])
    c = cfg.config_from_flags(fv)
    assert c.name == "small" and c.optim.steps == 12 and c.optim.learning_rate == 0.5
    assert not c.model.attention and not c.model.mask_priority and c.model.dilations == (2, 4)
    assert c.model.image_channels == PRESETS["small"].model.image_channels
    assert "[optim]" in fv["steps"].help
    fv2 = flags.FlagValues()
    cfg.define_flags(fv2, preset="demo")
    fv2(["prog"])
    assert cfg.config_from_flags(fv2) == PRESETS["demo"]
