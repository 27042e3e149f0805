"""Small trainers and their data for the training tests: seeded smooth images, fixed holes, a
per-replica dataset function and a tiny Trainer."""
import numpy as np
import tensorflow as tf

from gain_tf.config import get_config
from gain_tf.train import Trainer, TrainOptions

SIZE = 32
# One dilation block of rates 2 and 4 per branch: at 32 px the 8×8 feature maps leave rates 8 and 16
# reading mostly padding, the trainer's behaviour under test does not depend on the depth, and the
# shallower graph traces and steps faster.
SHALLOW = dict(structure_dilation_blocks=1, content_dilation_blocks=1, dilations=(2, 4))


def smooth_images(n=4, size=SIZE, seed=0):
    """Colour fields with a gentle ramp: learnable from the border of a hole."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    base = rng.uniform(-0.8, 0.8, (n, 1, 1, 3)).astype(np.float32)
    slope = rng.uniform(-0.3, 0.3, (n, 1, 1, 3)).astype(np.float32)
    return np.clip(base + slope * (xx + yy)[None, :, :, None], -1, 1).astype(np.float32)


def hole_masks(n=4, size=SIZE):
    valid = np.ones((n, size, size, 1), np.float32)
    for i in range(n):
        valid[i, 8 + i:18 + i, 6 + 2 * i:20 + i] = 0.0
    return valid


def dataset_fn(images, valid, batch):
    def fn(ctx):
        ds = tf.data.Dataset.from_tensor_slices({"image": images, "valid": valid})
        ds = ds.repeat().batch(ctx.get_per_replica_batch_size(batch), drop_remainder=True)
        return ds.shard(ctx.num_input_pipelines, ctx.input_pipeline_id)
    return fn


def make_trainer(tmp, strategy=None, seed=0, init_seed=None, **overrides):
    tf.keras.utils.set_random_seed(seed if init_seed is None else init_seed)
    config = get_config("tiny", image_size=SIZE, batch_size=4, **{**SHALLOW, **overrides})
    options = TrainOptions(model_dir=str(tmp), seed=seed, log_every=2,
                           image_every=1000, checkpoint_every=3, progress=False)
    return Trainer(config, options, strategy)
