"""One process of tests/train/test_multiworker.py: trains ``tiny`` on row-sharded global batches.

    TF_CONFIG=... python -m tests.train.multiworker_worker --strategy=multiworker --out=w.npz DIR

Input pipeline ``i`` of ``n`` yields rows ``[i·b, (i+1)·b)`` (``b`` = global batch / ``n``) of the
same global batches, so a cluster of ``n`` one-device workers sees exactly what one process sees.
Writes the generator's weights to ``--out`` and prints ``is_chief=<bool>``.
"""
import argparse

GLOBAL_BATCH, STEPS, SIZE = 4, 3, 32


def row_sharded_dataset_fn(images, valid):
    import tensorflow as tf

    def fn(ctx):
        b = GLOBAL_BATCH // ctx.num_input_pipelines
        lo = ctx.input_pipeline_id * b
        ds = tf.data.Dataset.from_tensor_slices({"image": images, "valid": valid})
        ds = ds.batch(GLOBAL_BATCH, drop_remainder=True).repeat()
        return ds.map(lambda x: {k: v[lo:lo + b] for k, v in x.items()})
    return fn


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model_dir")
    p.add_argument("--strategy", default="default")
    p.add_argument("--out", required=True)
    args = p.parse_args()

    import numpy as np
    import tensorflow as tf
    from absl import logging
    logging.set_verbosity(logging.INFO)  # the trainer's "not the chief" line (tests check it)
    tf.config.threading.set_intra_op_parallelism_threads(1)
    from gain_tf.config import get_config
    from gain_tf.train import Trainer, TrainOptions, make_strategy
    from tests.train.helpers import hole_masks, smooth_images

    strategy = make_strategy(args.strategy, collective_timeout=120)
    tf.keras.utils.set_random_seed(0)
    config = get_config("tiny", image_size=SIZE, batch_size=GLOBAL_BATCH, steps=STEPS)
    trainer = Trainer(config, TrainOptions(model_dir=args.model_dir, log_every=1, image_every=STEPS,
                                           checkpoint_every=STEPS, progress=False), strategy)
    n = GLOBAL_BATCH * STEPS
    trainer.train(row_sharded_dataset_fn(smooth_images(n, SIZE, seed=5), hole_masks(n, SIZE)))
    np.savez(args.out, *[v.numpy() for v in trainer.generator.weights])
    print(f"is_chief={trainer.is_chief}")


if __name__ == "__main__":
    main()
