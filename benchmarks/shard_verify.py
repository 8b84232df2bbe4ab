"""Verifying reused shards: hashing every shard at every run vs remembering hashes by stat (issue 10).

Writes a store of ``--mb`` MB of MIDI-sized members (random bytes, so nothing
compresses or dedupes) in one shard store, then times, in the same run,
``ShardStore.load()`` (what every stage does before it reuses its shards)

* with no hash cache: every shard is read and hashed, as before;
* with the hash cache warm (a second run after the shards settled): stats only.

The per-GB figures project to a Lakh-size corpus (1.9 million variants of
about 10 KB: 19 GB of augmented shards).

Usage::

    python benchmarks/shard_verify.py [--mb 500] [--repeat 3]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from penta_core.engine import statcache
from penta_core.store.shards import Member, ShardStore

MEMBER_BYTES = 10_000


def _build(folder: Path, cache: Path, n: int) -> None:
    store = ShardStore(folder, "midi", groups_per_shard=2000, max_members=8000, hashes=cache)
    sync = store.begin(Member(f"s{i:08d}", f"midi/s{i:08d}.mid", f"s{i:08d}", "k") for i in range(n))
    for m in sync.missing:
        sync.put(m.id, os.urandom(MEMBER_BYTES))
    sync.finish()


def _time_load(folder: Path, cache: Path | None, repeat: int) -> tuple[float, int]:
    best, hashed = float("inf"), 0
    for _ in range(repeat):
        store = ShardStore(folder, "midi", hashes=cache)
        start = time.perf_counter()
        found = store.load()
        best = min(best, time.perf_counter() - start)
        hashed = store.hashes.hashed
        assert found, "no shard loaded"
    return best, hashed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    n = args.mb * 1_000_000 // MEMBER_BYTES
    statcache.RACY_WINDOW_NS = -10**19  # as if the shards were written long ago: the steady state
    with tempfile.TemporaryDirectory(prefix="penta-verify-") as tmp:
        folder, cache = Path(tmp) / "shards", Path(tmp) / "cache" / "hashes.json"
        _build(folder, cache, n)
        shards = len(list(folder.glob("*.tar")))
        size_gb = sum(p.stat().st_size for p in folder.glob("*.tar")) / 1e9
        cold, cold_hashed = _time_load(folder, None, args.repeat)
        warm, warm_hashed = _time_load(folder, cache, args.repeat)
    print(f"{n} members of {MEMBER_BYTES} bytes in {shards} shards, {size_gb:.2f} GB; best of {args.repeat}; "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'':<34}{'seconds':>9}{'s per GB':>10}{'shards read':>13}")
    print(f"{'hash every shard (before)':<34}{cold:9.3f}{cold / size_gb:10.3f}{cold_hashed:13d}")
    print(f"{'hashes remembered by stat (now)':<34}{warm:9.3f}{warm / size_gb:10.3f}{warm_hashed:13d}")
    print(f"projected to 19 GB of augmented shards (Lakh MIDI x 10): {cold / size_gb * 19:.1f} s before, "
          f"{warm / size_gb * 19:.2f} s now, per stage that reuses them")
    return 0


if __name__ == "__main__":
    sys.exit(main())
