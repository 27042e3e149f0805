"""Shared test inputs and independent references: seeded image pairs and a scipy FID."""
import numpy as np
import scipy.linalg


def pairs(seed=0, n=3, h=40, w=48):
    """Seeded (out, gt) uint8 batches: smooth-ish ground truth and a noisy output."""
    rs = np.random.RandomState(seed)
    gt = rs.randint(0, 256, (n, h, w, 3)).astype(np.float64)
    # a cheap separable box blur so that the images have local structure
    k = np.ones(5) / 5.0
    for ax in (1, 2):
        gt = np.apply_along_axis(lambda v: np.convolve(v, k, mode="same"), ax, gt)
    gt = np.clip(np.round(gt), 0, 255).astype(np.uint8)
    out = np.clip(gt.astype(int) + rs.randint(-25, 26, gt.shape), 0, 255).astype(np.uint8)
    return out, gt


def ref_fid(a1, a2):
    mu1, mu2 = a1.mean(0), a2.mean(0)
    s1, s2 = np.cov(a1, rowvar=False), np.cov(a2, rowvar=False)  # unbiased (N - 1)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * covmean))
