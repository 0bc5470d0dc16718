#!/usr/bin/env python3
"""Peer benchmark: faiss IndexBinaryMultiHash on the data set written by `benches/index.rs`.

Run the Rust bench first (it writes target/hamming-bench/{stored,near,random}.bin: 32 bytes per
hash), then:

    pip install faiss-cpu numpy
    python3 crates/hamming/benches/faiss_multihash.py [target/hamming-bench]

Configuration: 16 hash tables of 16 bits probed with 1 flipped bit each (nhash=16, b=16,
nflip=1). By the pigeonhole principle (16 x (1 + 1) = 32 > 31) this is exact for radius 31, the
same guarantee as the Rust index. faiss' range_search keeps distances strictly below the radius,
so it is called with 32. One query per call and one thread, to measure per-query latency like
the Rust bench.
"""

import os
import resource
import sys
import time

import faiss
import numpy as np

RADIUS = 31


def rss_bytes():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def load(directory, name):
    data = np.fromfile(os.path.join(directory, name), dtype=np.uint8)
    return data.reshape(-1, 32)


def time_queries(index, queries):
    times, found = [], 0
    for q in queries:
        start = time.perf_counter()
        lims, distances, labels = index.range_search(q.reshape(1, 32), RADIUS + 1)
        times.append(time.perf_counter() - start)
        assert (distances <= RADIUS).all()
        found += int(lims[1])
    times = np.array(times) * 1e6
    return np.percentile(times, 50), np.percentile(times, 99), times.mean(), found


def main():
    directory = sys.argv[1] if len(sys.argv) > 1 else "target/hamming-bench"
    faiss.omp_set_num_threads(1)
    stored = load(directory, "stored.bin")
    near = load(directory, "near.bin")
    random = load(directory, "random.bin")
    n = stored.shape[0]

    rss_before = rss_bytes()
    start = time.perf_counter()
    index = faiss.IndexBinaryMultiHash(256, 16, 16)
    index.nflip = 1
    index.add(stored)
    build = time.perf_counter() - start
    rss_after = rss_bytes()

    print(f"# faiss {faiss.__version__} IndexBinaryMultiHash(256, nhash=16, b=16), nflip=1, "
          f"{n} hashes, radius {RADIUS}")
    print(f"build (add, 1 thread): {build:.2f} s")
    print(f"memory (RSS growth during add): {(rss_after - rss_before) / n:.1f} bytes/hash; "
          f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    print()
    print(f"| {'query':<44} | {'queries':>7} | {'p50 µs':>10} | {'p99 µs':>10} | "
          f"{'mean µs':>10} | {'found':>8} |")
    print(f"|{'-' * 46}|{'-' * 9}|{'-' * 12}|{'-' * 12}|{'-' * 12}|{'-' * 10}|")
    for label, queries in [("faiss range_search d=31, near-duplicate", near),
                           ("faiss range_search d=31, random", random)]:
        p50, p99, mean, found = time_queries(index, queries)
        print(f"| {label:<44} | {len(queries):>7} | {p50:>10.1f} | {p99:>10.1f} | "
              f"{mean:>10.1f} | {found:>8} |")


if __name__ == "__main__":
    main()
