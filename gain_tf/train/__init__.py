"""Training: the GAN step, the loop and its TensorBoard summaries (see :mod:`gain_tf.train.trainer`)."""
from gain_tf.train.gan_step import GANStep
from gain_tf.train.strategy import make_strategy
from gain_tf.train.trainer import Trainer, TrainingDivergedError, TrainingInterrupted, TrainOptions

__all__ = ["GANStep", "Trainer", "TrainOptions", "TrainingDivergedError", "TrainingInterrupted",
           "make_strategy"]
