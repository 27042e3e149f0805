"""GAIN's models: the generator and the SN-PatchGAN discriminators."""
from gain_tf.models.discriminator import PatchDiscriminator, build_discriminators
from gain_tf.models.generator import GAINGenerator

__all__ = ["GAINGenerator", "PatchDiscriminator", "build_discriminators"]
