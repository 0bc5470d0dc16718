#!/usr/bin/env python3
"""Times Meta's reference C++ PDQ through the PyPI `pdqhash` binding, for comparison with the
Rust implementation (run by benches/pdq.rs; can also be run alone).

    python3 -m venv /tmp/pdqenv && /tmp/pdqenv/bin/pip install pdqhash numpy pillow
    taskset -c 0 /tmp/pdqenv/bin/python pdqhash_peer.py IMAGE.png [SECONDS]

Prints one JSON object: the hash and quality (so the caller can check they agree bit for bit),
and the time per image of `pdqhash.compute` on an already-decoded RGB array, with and without
the float64 luma conversion that python-threatexchange's path includes.
"""
import json
import statistics
import sys
import time

import numpy as np
import pdqhash
from PIL import Image


def bench(fn, seconds):
    """Median time of one call, over repeated batches for about `seconds`."""
    fn()  # warm-up
    samples = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(samples) < 5:
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples), len(samples)


def main():
    path = sys.argv[1]
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 5.0
    rgb = np.asarray(Image.open(path).convert("RGB"))
    bits, quality = pdqhash.compute(rgb)
    hexhash = "%064x" % int("".join(str(int(b)) for b in bits), 2)
    t_hash, n_hash = bench(lambda: pdqhash.compute(rgb), seconds)
    t_dih, n_dih = bench(lambda: pdqhash.compute_dihedral(rgb), seconds)
    print(json.dumps({
        "pdqhash_version": getattr(pdqhash, "__version__", "unknown"),
        "width": rgb.shape[1],
        "height": rgb.shape[0],
        "hash": hexhash,
        "quality": int(quality),
        "compute_ms": t_hash * 1000,
        "compute_runs": n_hash,
        "compute_dihedral_ms": t_dih * 1000,
        "compute_dihedral_runs": n_dih,
    }))


if __name__ == "__main__":
    main()
