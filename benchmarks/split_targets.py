"""Split targets: balance and stability of ``split.strategy`` balanced beside the pure hash.

Generates EMOPIA-sized group structures (4 labels: 387 songs of 1-10 clips
kept whole, 1,078 single clips, or 1,078 groups of 1-10 samples) and 10x
that, places them
(v1), adds 25% more groups and places again (v2), and prints per strategy:

* builds meeting the size target: every split within one group (the
  label's largest) or 2 points of its ratio, per label;
* the worst label-share drift in any split (target: 3 points);
* v1's val/test groups still in the same split in v2 (target: 95%).

Usage::

    python benchmarks/split_targets.py [--seeds 40]
"""
from __future__ import annotations

import argparse
import random
import statistics
from collections import Counter

from penta_core.splits.assign import assign_splits

RATIOS = {"train": 0.7, "val": 0.15, "test": 0.15}
LABELS = ("Q1", "Q2", "Q3", "Q4")
# Clips per song, 1-10: geometric-like with a mean near EMOPIA's 2.8.
SIZE_WEIGHTS = [0.36, 0.2, 0.13, 0.09, 0.06, 0.05, 0.04, 0.03, 0.02, 0.02]


def structure(n_groups: int, max_size: int, rng: random.Random, prefix: str) -> tuple[dict, dict]:
    labels = {f"{prefix}{i:06d}": LABELS[rng.randrange(4)] for i in range(n_groups)}
    sizes = range(1, max_size + 1)
    weights = {g: rng.choices(sizes, SIZE_WEIGHTS[:max_size])[0] for g in labels}
    return labels, weights


def check(placement) -> tuple[bool, float]:
    """(size target met for every label and split, worst label drift in points)."""
    per: dict[str, Counter] = {}
    groups: dict[str, list[int]] = {}
    for p in placement.values():
        per.setdefault(p.label, Counter())[p.split] += p.weight
        groups.setdefault(p.label, []).append(p.weight)
    ok = True
    for label, counts in per.items():
        total = sum(counts.values())
        tol = max(max(groups[label]), 0.02 * total)
        ok &= all(abs(counts[s] - RATIOS[s] * total) <= tol + 1e-9 for s in RATIOS)
    grand = sum(sum(c.values()) for c in per.values())
    drift = 0.0
    for split in RATIOS:
        n = sum(per[label][split] for label in per)
        if n:
            drift = max(drift, max(abs(per[lb][split] / n - sum(per[lb].values()) / grand) for lb in per))
    return ok, 100 * drift


def run(name: str, n_groups: int, max_size: int, seeds: int) -> None:
    print(f"\n{name}: {n_groups} groups of 1-{max_size} samples, +25% for v2, {seeds} seeds")
    print(f"  {'strategy':9} {'size ok':>8} {'drift max':>10} {'kept mean':>10} {'kept min':>9} {'kept>=95%':>10}")
    for strategy in ("balanced", "hash"):
        size_ok, drifts, kept = 0, [], []
        for seed in range(seeds):
            rng = random.Random(seed)
            labels, weights = structure(n_groups + n_groups // 4, max_size, rng, "g")
            old = dict(list(labels.items())[:n_groups])
            v1 = assign_splits(old, RATIOS, seed, strategy, weights)
            v2 = assign_splits(labels, RATIOS, seed, strategy, weights)
            for placement in (v1, v2):
                ok, drift = check(placement)
                size_ok += ok
                drifts.append(drift)
            evals = [g for g, p in v1.items() if p.split != "train"]
            kept.append(sum(v2[g].split == v1[g].split for g in evals) / len(evals))
        print(f"  {strategy:9} {size_ok / (2 * seeds):8.0%} {max(drifts):9.1f}p {statistics.mean(kept):10.1%} "
              f"{min(kept):9.1%} {sum(k >= 0.95 for k in kept) / seeds:10.0%}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=40)
    args = parser.parse_args(argv)
    run("EMOPIA songs kept whole", 387, 10, args.seeds)
    run("EMOPIA clips", 1078, 1, args.seeds)
    run("EMOPIA-sized, hundreds of groups per label", 1078, 10, args.seeds)
    run("10x EMOPIA songs", 3870, 10, max(4, args.seeds // 4))
    run("10x EMOPIA clips", 10780, 1, max(4, args.seeds // 4))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
