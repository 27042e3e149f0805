"""GANStep: the reported losses against their formulas, one device against two, XLA with float16."""
import os

import numpy as np
import pytest
import tensorflow as tf

from gain_tf.train import make_strategy
from tests.train.helpers import SIZE, dataset_fn, hole_masks, make_trainer, smooth_images


def test_step_uses_the_hole_weighted_l1(tmp_path):
    """The step's reported L1 terms are Liu et al.'s ``mean(|err| ⊙ (M + w(1 − M)))`` of the
    generator's output before the update (numpy, from the same weights)."""
    from gain_tf.layers.gradient import image_gradient
    images, valid = smooth_images(seed=3), hole_masks()
    trainer = make_trainer(tmp_path, l1_hole_weight=6.0)
    trainer.build(SIZE, SIZE)
    out = trainer.generator((images, valid))
    weight = valid + 6.0 * (1.0 - valid)
    expect_image = np.mean(np.abs(out["image"].numpy() - images) * weight)
    expect_grad = np.mean(np.abs(out["gradient"].numpy() - image_gradient(images).numpy()) * weight)
    batch = next(iter(tf.data.Dataset.from_tensor_slices({"image": images, "valid": valid}).batch(4)))
    metrics = trainer.train_step(batch)
    np.testing.assert_allclose(float(metrics["l1_image"]), expect_image, rtol=1e-4)
    np.testing.assert_allclose(float(metrics["l1_guide"]), expect_grad, rtol=1e-4)


def test_guide_weights_and_scale_enter_the_generator_loss_as_written(tmp_path):
    """``g_total = λ_l1 (L1_I + λ_∇l1 L1_s∇) + λ_adv (L_G^I + λ_∇adv L_G^s∇)`` with ``L1_s∇`` the L1 of
    ``s∇I*`` against ``s∇I`` (numpy, from the same weights); D^S's scores come from the scaled maps."""
    from gain_tf.layers.gradient import image_gradient
    images, valid = smooth_images(seed=5), hole_masks()
    kw = dict(l1_hole_weight=6.0, adv_weight=0.3, guide_scale=10.0, guide_l1_weight=0.5,
              guide_adv_weight=2.0)
    trainer = make_trainer(tmp_path, **kw)
    trainer.build(SIZE, SIZE)
    out = trainer.generator((images, valid))
    weight = valid + 6.0 * (1.0 - valid)
    grad_true = image_gradient(images).numpy()
    expect_grad = np.mean(np.abs(10.0 * out["gradient"].numpy() - 10.0 * grad_true) * weight)
    fake = 10.0 * (out["gradient"].numpy() * (1 - valid) + grad_true * valid)
    expect_adv_guide = -np.mean(trainer.d_guide((fake, valid), training=True).numpy())
    batch = next(iter(tf.data.Dataset.from_tensor_slices({"image": images, "valid": valid}).batch(4)))
    m = {k: float(v) for k, v in trainer.train_step(batch).items()}
    np.testing.assert_allclose(m["l1_guide"], expect_grad, rtol=1e-4)
    # spectral norm's power iteration moves u at each training call: compare loosely
    np.testing.assert_allclose(m["adv_guide"], expect_adv_guide, rtol=0.05, atol=1e-3)
    want = (m["l1_image"] + 0.5 * m["l1_guide"]) + 0.3 * (m["adv_image"] + 2.0 * m["adv_guide"])
    np.testing.assert_allclose(m["g_total"], want, rtol=1e-5)


@pytest.mark.parametrize("losses_on", [{}, dict(energy_weight=1.0, energy_window=3, ssim_weight=1.0,
                                                clip_norm=1e-3)],
                         ids=["paper", "energy_ssim_clip"])
def test_mirrored_strategy_matches_default(tmp_path, losses_on):
    """Two replicas give one replica's losses and weights, with the optional terms on too (and the
    gradients clipped: to the norm of their sum, not each replica's share)."""
    assert len(tf.config.list_logical_devices("CPU")) >= 2, "conftest configures 2 logical CPUs"
    images, valid = smooth_images(seed=2), hole_masks()
    fn = dataset_fn(images, valid, 4)
    results = []
    for name in ("default", "mirrored"):
        strategy = make_strategy(name)
        assert strategy.num_replicas_in_sync == (2 if name == "mirrored" else 1)
        trainer = make_trainer(tmp_path / name, strategy, **losses_on)
        trainer.build(SIZE, SIZE)
        batch = next(iter(strategy.distribute_datasets_from_function(fn)))
        metrics = {k: float(v) for k, v in trainer.train_step(batch).items()}
        results.append((metrics, [v.numpy() for v in trainer.generator.weights + trainer.d_image.weights]))
    (m_a, w_a), (m_b, w_b) = results
    assert (m_a["energy"] > 0 and m_a["ssim"] > 0) == bool(losses_on)
    for k in m_a:
        np.testing.assert_allclose(m_a[k], m_b[k], rtol=1e-4, atol=1e-4, err_msg=k)
    for a, b in zip(w_a, w_b):
        np.testing.assert_allclose(a, b, atol=1e-4)


def test_mixed_precision_generator_compiles_with_xla(tmp_path):
    """--mixed_precision --jit: the generator's float16 forward and backward pass compiles with XLA
    and gives finite gradients (in a subprocess, since the mixed-precision policy is global)."""
    import subprocess
    import sys
    code = """
import numpy as np, tensorflow as tf
tf.keras.mixed_precision.set_global_policy("mixed_float16")
from gain_tf.config import get_config
from gain_tf.models import GAINGenerator
from tests.train.helpers import smooth_images, hole_masks
g = GAINGenerator(get_config("tiny", structure_dilation_blocks=1, content_dilation_blocks=1,
                             dilations=(2, 4)))
images, valid = tf.constant(smooth_images()), tf.constant(hole_masks())
g((images, valid))
@tf.function(jit_compile=True)
def step(x, v):
    with tf.GradientTape() as tape:
        out = g((x, v), training=True)
        loss = tf.reduce_mean(tf.abs(out["image"] - x)) + tf.reduce_mean(tf.abs(out["gradient"]))
    return loss, tape.gradient(loss, g.trainable_variables)
loss, grads = step(images, valid)
assert g.compute_dtype == "float16"
assert np.isfinite(loss.numpy()) and all(np.isfinite(t.numpy()).all() for t in grads)
print("OK", float(loss))
"""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    res = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True,
                         timeout=600)
    assert res.returncode == 0 and "OK" in res.stdout, res.stderr[-3000:]


@pytest.mark.parametrize("name,field,fn,window", [("energy", "energy_weight", "gradient_energy_loss", 0),
                                                   pytest.param("energy", "energy_weight",
                                                                "gradient_energy_loss", 5,
                                                                marks=pytest.mark.slow),
                                                   ("ssim", "ssim_weight", "ssim_loss", 0)],
                         ids=["energy", "energy_window5", "ssim"])
def test_extra_terms_enter_the_generator_loss_and_change_the_update(tmp_path, name, field, fn, window):
    """With λ_E (or λ_S) the step reports ``L_E`` (``L_S``) of the composite before the update (the
    loss function on the same weights, with ``energy_window`` passed on), adds ``λ L`` to
    ``g_total``, and moves the generator elsewhere than with λ = 0."""
    from gain_tf import losses
    images, valid = smooth_images(seed=7), hole_masks()
    batch = next(iter(tf.data.Dataset.from_tensor_slices({"image": images, "valid": valid}).batch(4)))
    outs = {}
    for w in (0.0, 2.0):
        trainer = make_trainer(tmp_path / str(w), **{field: w}, energy_window=window)   # 0: per image
        trainer.build(SIZE, SIZE)
        pred = trainer.generator((images, valid))["image"].numpy()
        filled = pred * (1 - valid) + images * valid
        args = (filled, images, valid, 4, window) if name == "energy" else (filled, images, 4)
        expect = float(getattr(losses, fn)(*args))
        m = {k: float(v) for k, v in trainer.train_step(batch).items()}
        np.testing.assert_allclose(m[name], expect if w else 0.0, rtol=1e-4, atol=1e-7)
        want = m["l1_image"] + m["l1_guide"] + 1.0 * (m["adv_image"] + m["adv_guide"]) + w * m[name]
        np.testing.assert_allclose(m["g_total"], want, rtol=1e-5)
        outs[w] = trainer.generator((images, valid))["image"].numpy()
    assert expect > 1e-3
    assert np.abs(outs[2.0] - outs[0.0]).max() > 1e-4
