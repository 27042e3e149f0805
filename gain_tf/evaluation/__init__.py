"""Evaluation of inpainting: scores, FID, classical baselines, the per-bucket protocol and reports."""
from gain_tf.evaluation.baselines import inpaint_navier_stokes, inpaint_telea
from gain_tf.evaluation.fid import InceptionActivations, frechet_distance, load_inception
from gain_tf.evaluation.protocol import (
    NAVIER_STOKES, TELEA, BucketMetrics, evaluate, grid_path, parse_buckets)
from gain_tf.evaluation.report import wide_table, write_tables, write_wide_tables
from gain_tf.evaluation.scores import (
    PSNR_CAP_DB, psnr, relative_l1, relative_l1_per_image, relative_l1_sums, ssim)

__all__ = [
    "BucketMetrics", "InceptionActivations", "NAVIER_STOKES", "PSNR_CAP_DB", "TELEA",
    "evaluate", "frechet_distance", "grid_path", "inpaint_navier_stokes",
    "inpaint_telea", "load_inception", "parse_buckets", "psnr",
    "relative_l1", "relative_l1_per_image", "relative_l1_sums", "ssim", "wide_table",
    "write_tables", "write_wide_tables",
]
