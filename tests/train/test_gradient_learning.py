"""Model level: the gradient branch learns. After a short seeded training on fixed scenes (colour
ramps in random directions, whose gradient the hole continues) with the shipped recipe's gradient
loss (the ``photo`` preset's ``guide_*`` fields), the predicted ∇I* in held-out holes is closer (L1)
to the true ∇I than the all-zero gradient is, by a margin."""
import numpy as np
import tensorflow as tf

from gain_tf.config import get_config
from gain_tf.evaluation.scores import gradient_hole_sums
from gain_tf.layers.gradient import image_gradient
from gain_tf.masks import bucket_mask, irregular_masks
from gain_tf.train import Trainer, TrainOptions
from tests.train.helpers import SHALLOW

SIZE, STEPS = 32, 100
MARGIN = 0.9      # L1(∇I*, ∇I) < MARGIN · L1(0, ∇I) in the hole


def _scenes(count, seed):
    """Colour ramps: per image a random direction and per channel a random slope (up to 1.5 over
    the image) about a random base colour, in [-1, 1]."""
    rng = np.random.default_rng(seed)
    yy, xx = (np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) - SIZE / 2) / SIZE
    angle = rng.uniform(0, 2 * np.pi, (count, 1, 1, 1))
    t = np.cos(angle) * xx[None, :, :, None] + np.sin(angle) * yy[None, :, :, None]
    base = rng.uniform(-0.4, 0.4, (count, 1, 1, 3))
    slope = rng.uniform(0.5, 1.5, (count, 1, 1, 3)) * rng.choice([-1, 1], (count, 1, 1, 1))
    return np.clip(base + slope * t, -1, 1).astype(np.float32)


def test_predicted_gradient_beats_the_zero_gradient_in_held_out_holes(tmp_path):
    photo = get_config("photo").loss
    config = get_config("tiny", image_size=SIZE, batch_size=8, steps=STEPS, learning_rate=2e-3,
                        lr_decay="cosine", adv_weight=photo.adv_weight,
                        l1_hole_weight=photo.l1_hole_weight, guide_scale=photo.guide_scale,
                        guide_l1_weight=photo.guide_l1_weight, guide_adv_weight=photo.guide_adv_weight,
                        **SHALLOW)
    assert photo.guide_scale != 1.0, "the recipe under test normalises the gradient target"
    tf.keras.utils.set_random_seed(0)
    trainer = Trainer(config, TrainOptions(model_dir=str(tmp_path), seed=0, log_every=1000,
                                           image_every=10_000, checkpoint_every=10_000,
                                           progress=False))
    images, valid = _scenes(64, seed=0), irregular_masks(64, SIZE, SIZE, seed=0)

    def dataset_fn(ctx):
        ds = tf.data.Dataset.from_tensor_slices({"image": images, "valid": valid})
        return ds.shuffle(64, seed=0).repeat().batch(8, drop_remainder=True)

    trainer.train(dataset_fn)
    test_images = _scenes(24, seed=1)                                 # other scenes, other masks
    test_valid = np.stack([bucket_mask((0.2, 0.4), i, SIZE, SIZE, seed=7) for i in range(24)])
    pred = trainer.generator((test_images, test_valid), training=False)["gradient"].numpy()
    target = image_gradient(tf.constant(test_images)).numpy()
    l1_pred, energy, truth_energy, _ = gradient_hole_sums(pred, target, test_valid)
    l1_zero = gradient_hole_sums(np.zeros_like(target), target, test_valid)[0]
    assert l1_pred < MARGIN * l1_zero, (l1_pred, l1_zero)
    # and it is not the zero map with noise: it carries a real share of the truth's energy
    assert energy > 0.3 * truth_energy, (energy, truth_energy)
