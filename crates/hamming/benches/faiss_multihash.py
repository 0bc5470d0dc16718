#!/usr/bin/env python3
"""Peer benchmark: faiss IndexBinaryMultiHash on the data set written by `benches/index.rs`.

Run the Rust bench first (it writes target/hamming-bench/{stored,near,random}.bin: 32 bytes per
hash), then:

    pip install faiss-cpu numpy
    python3 crates/hamming/benches/faiss_multihash.py [target/hamming-bench [QUERIES]]

QUERIES (default: all in the files) limits the timed queries of each kind.

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
    """Wall-clock and thread-CPU microseconds per query (CPU time excludes waits for a core
    on a shared machine), and the number of matches."""
    wall, cpu, found = [], [], 0
    for q in queries:
        start, start_cpu = time.perf_counter(), time.thread_time()
        lims, distances, labels = index.range_search(q.reshape(1, 32), RADIUS + 1)
        cpu.append(time.thread_time() - start_cpu)
        wall.append(time.perf_counter() - start)
        assert (distances <= RADIUS).all()
        found += int(lims[1])
    wall, cpu = np.array(wall) * 1e6, np.array(cpu) * 1e6
    return (np.percentile(wall, 50), np.percentile(wall, 99),
            np.percentile(cpu, 50), np.percentile(cpu, 99), found)


def main():
    directory = sys.argv[1] if len(sys.argv) > 1 else "target/hamming-bench"
    faiss.omp_set_num_threads(1)
    stored = load(directory, "stored.bin")
    limit = int(sys.argv[2]) if len(sys.argv) > 2 else None
    near = load(directory, "near.bin")[:limit]
    random = load(directory, "random.bin")[:limit]
    n = stored.shape[0]

    rss_before = rss_bytes()
    start, start_cpu = time.perf_counter(), time.process_time()
    index = faiss.IndexBinaryMultiHash(256, 16, 16)
    index.nflip = 1
    index.add(stored)
    build = time.perf_counter() - start
    build_cpu = time.process_time() - start_cpu
    rss_after = rss_bytes()

    print(f"# faiss {faiss.__version__} IndexBinaryMultiHash(256, nhash=16, b=16), nflip=1, "
          f"{n} hashes, radius {RADIUS}")
    print(f"build (add, 1 thread): {build:.2f} s wall, {build_cpu:.2f} s CPU")
    print(f"memory (RSS growth during add): {(rss_after - rss_before) / n:.1f} bytes/hash; "
          f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    print()
    print("(times in µs; cpu = this thread's CPU time, excluding waits for a core)")
    print(f"| {'query':<46} | {'queries':>7} | {'wall p50':>9} | {'wall p99':>9} | "
          f"{'cpu p50':>9} | {'cpu p99':>9} | {'found':>6} |")
    print(f"|{'-' * 48}|{'-' * 9}|{'-' * 11}|{'-' * 11}|{'-' * 11}|{'-' * 11}|{'-' * 8}|")
    for label, queries in [("faiss range_search d=31, near-duplicate", near),
                           ("faiss range_search d=31, random", random)]:
        wall50, wall99, cpu50, cpu99, found = time_queries(index, queries)
        print(f"| {label:<46} | {len(queries):>7} | {wall50:>9.1f} | {wall99:>9.1f} | "
              f"{cpu50:>9.1f} | {cpu99:>9.1f} | {found:>6} |")


if __name__ == "__main__":
    main()
