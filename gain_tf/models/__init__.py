"""GAIN's models: the generator and the SN-PatchGAN discriminator."""
from gain_tf.models.discriminator import PatchDiscriminator
from gain_tf.models.generator import GAINGenerator

__all__ = ["GAINGenerator", "PatchDiscriminator"]
