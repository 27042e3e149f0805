"""PatchDiscriminator: spectral normalisation in effect, the hole mask as an input, one per stream."""
import numpy as np
import tensorflow as tf

from gain_tf.config import get_config
from gain_tf.models import PatchDiscriminator, build_discriminators


def test_discriminator_is_spectrally_normalised_and_sees_the_mask():
    d = PatchDiscriminator((4, 8, 8, 8, 8, 8))
    x = tf.random.normal((2, 64, 64, 3), seed=1)
    valid = np.ones((2, 64, 64, 1), np.float32)
    for _ in range(30):   # one power iteration per training call
        s = d((x, valid), training=True)
    assert s.shape == (2, 1, 1, 8)
    for conv in d.convs:
        kernel = conv.layer.kernel.numpy()
        sigma = np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0]
        assert abs(sigma - 1.0) < 0.05, sigma
    holed = valid.copy()
    holed[:, 16:48, 16:48] = 0.0     # the hole mask is an input channel: the scores move
    assert np.abs(d((x, holed)).numpy() - d((x, valid)).numpy()).max() > 1e-3
    with tf.GradientTape() as tape:
        tape.watch(x)
        total = tf.reduce_sum(d((x, valid), training=True))
    g = tape.gradient(total, x).numpy()
    assert np.isfinite(g).all() and np.abs(g).sum() > 0


def test_build_discriminators_follows_the_guidance():
    d_image, d_guide = build_discriminators(get_config("tiny"))
    assert d_image.name == "d_image" and d_guide.name == "d_guide"
    assert d_image.channels == get_config("tiny").model.disc_channels
    assert build_discriminators(get_config("tiny", guidance="none"))[1] is None
