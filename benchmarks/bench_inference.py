"""Photos of any size: seconds and peak memory of ``full`` against ``crop`` mode, same holes, one run.

Each (mode, size) runs in its own subprocess, so its peak memory is that process's ``ru_maxrss``
(TensorFlow's memory info does not work on the CPU). The model is the ``small`` preset with a
training size of 256 and seeded random weights (speed and memory do not depend on training).
Every image gets the same three holes (discs of 50-70 px radius, 2 % of a 4000×3000 photo), so
``crop`` does the same work at every size while ``full`` grows with the photo; ``full`` on
4000×3000 is refused by its memory estimate, as the CLI does.

    python benchmarks/bench_inference.py [--sizes 512x512,1024x1024,4000x3000] [--max_memory_gb 8]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def holes(height: int, width: int):
    """Three discs at fixed offsets from the image centre (the same pixels at every size)."""
    import cv2
    import numpy as np
    mask = np.zeros((height, width), np.uint8)
    cy, cx = height // 2, width // 2
    for dy, dx, r in ((-120, -150, 70), (90, 60, 50), (-30, 170, 60)):
        cv2.circle(mask, (cx + dx, cy + dy), r, 255, -1)
    return mask


def child(mode: str, height: int, width: int, max_memory_gb: float) -> dict:
    """One measurement in this process: seconds of ``inpaint_image`` (after a warm-up trace on
    the same input) and the process's peak memory."""
    import numpy as np
    import tensorflow as tf

    from gain_tf.config import get_config
    from gain_tf.anysize import InpaintInputError, inpaint_image
    from gain_tf.inference import Inpainter
    from gain_tf.models import GAINGenerator
    tf.keras.utils.set_random_seed(0)
    generator = GAINGenerator(get_config("small", image_size=256))
    generator(generator.example_inputs(64))
    inpainter = Inpainter.from_generator(generator)
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    mask = holes(height, width)
    try:
        inpaint_image(inpainter, image, mask, mode=mode, max_memory_gb=max_memory_gb)  # traces
        t0 = time.perf_counter()
        out = inpaint_image(inpainter, image, mask, mode=mode, max_memory_gb=max_memory_gb).image
        seconds = time.perf_counter() - t0
        exact = bool(np.array_equal(out[mask == 0], image[mask == 0]))
        result = {"seconds": seconds, "known_exact": exact}
    except InpaintInputError as e:
        result = {"refused": str(e)}
    result["peak_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="512x512,1024x1024,4000x3000", help="HxW list")
    parser.add_argument("--max_memory_gb", type=float, default=8.0)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, size = args.child.split(":")
        h, w = (int(v) for v in size.split("x"))
        print(json.dumps(child(mode, h, w, args.max_memory_gb)))
        return
    print(f"{'size':>11} {'mode':>5} {'seconds':>8} {'peak GiB':>9}  note")
    for size in args.sizes.split(","):
        rows = {}
        for mode in ("full", "crop"):
            proc = subprocess.run([sys.executable, __file__, "--child", f"{mode}:{size}",
                                   "--max_memory_gb", str(args.max_memory_gb)],
                                  capture_output=True, text=True, timeout=3600, cwd=ROOT)
            if proc.returncode:
                rows[mode] = {"error": proc.stderr.strip().splitlines()[-1][:120]}
            else:
                rows[mode] = json.loads(proc.stdout.strip().splitlines()[-1])
            r = rows[mode]
            note = r.get("refused") or r.get("error") or (
                "known pixels bit-exact" if r.get("known_exact") else "KNOWN PIXELS CHANGED")
            seconds = f"{r['seconds']:8.2f}" if "seconds" in r else f"{'-':>8}"
            print(f"{size:>11} {mode:>5} {seconds} {r.get('peak_gib', float('nan')):9.2f}  {note}")
        if "seconds" in rows["full"] and "seconds" in rows["crop"]:
            print(f"{size:>11} crop/full: time {rows['crop']['seconds'] / rows['full']['seconds']:.2f}, "
                  f"peak memory {rows['crop']['peak_gib'] / rows['full']['peak_gib']:.2f}")


if __name__ == "__main__":
    main()
