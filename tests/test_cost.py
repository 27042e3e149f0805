"""gain_tf.cost: a training step's FLOPs and activation memory, counted on its traced graph."""
import tempfile

import tensorflow as tf

from gain_tf.config import get_config
from gain_tf.cost import PARTS, fixed_bytes, step_cost
from gain_tf.ops import sn
from gain_tf.train import Trainer, TrainOptions
from tests.hand_count import hand_flops

SIZE = 32


def cost(batch):
    config = get_config("tiny", image_size=SIZE, batch_size=batch)
    trainer = Trainer(config, TrainOptions(model_dir=tempfile.mkdtemp(), progress=False))
    trainer.build(SIZE, SIZE)
    spec = {"image": tf.TensorSpec((batch, SIZE, SIZE, 3)),
            "valid": tf.TensorSpec((batch, SIZE, SIZE, 1))}
    return config, trainer, step_cost(trainer.gan_step, spec)


def test_flops_and_memory_follow_the_architecture_and_the_batch():
    config, trainer, two = cost(2)
    _, _, four = cost(4)
    assert set(two.flops) == set(PARTS) and two.batch == 2
    gen = two.flops["generator forward"]
    # the learned convolutions by hand, plus mask window sums, Sobel filters and attention (30 %
    # at these tiny widths; under 2 % at the paper's, tests/test_generator.py)
    assert 1.0 <= gen / (2 * hand_flops(config, SIZE)) < 1.5, gen
    assert abs(two.tf_generator_flops - gen) / gen < 0.05
    # the backward costs about twice the forward (input and kernel gradients)
    assert 1.6 < two.flops["backward"] / two.forward_flops < 2.4
    assert two.flops["gradient penalty: double backward"] > 0
    assert four.flops["generator forward"] == 2 * gen           # its convolutions scale with batch
    # spectral norm's matmuls do not scale with the batch; Keras's layer (modern stack) runs them in
    # a tf.cond, whose branch functions the count does not enter (docs/stacks.md)
    ratio = four.total_flops / two.total_flops
    assert 1.95 < ratio < 2.0 if sn.IMPLEMENTATION == "tensorflow_addons" else 1.95 < ratio <= 2.0
    assert 1.8 < four.saved_bytes / two.saved_bytes < 2.2
    assert two.saved_bytes <= two.peak_bytes < 1.2 * two.saved_bytes
    params = sum(int(tf.size(v)) for v in trainer.generator.trainable_variables) + sum(
        int(tf.size(v)) for d in trainer.discriminators for v in d.trainable_variables)
    assert fixed_bytes(params) == 16 * params
