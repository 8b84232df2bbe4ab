"""How far each split's label shares stray from the shares overall."""
from __future__ import annotations

from collections import Counter
from collections.abc import Mapping


def label_drift_pp(per_split_label: Mapping[str, Mapping[str, int]]) -> dict[str, float]:
    """Per split, the largest gap (percentage points) between a label's share there and overall.

    Example
    -------
    >>> label_drift_pp({"train": {"a": 6, "b": 4}, "val": {"a": 1, "b": 1}})
    {'train': 1.67, 'val': 8.33}
    """
    overall: Counter = Counter()
    for counts in per_split_label.values():
        overall.update(counts)
    total = sum(overall.values())
    drift = {}
    for split, counts in per_split_label.items():
        n = sum(counts.values())
        if n == 0 or total == 0:
            continue
        drift[split] = round(100 * max(abs(counts.get(label, 0) / n - overall[label] / total) for label in overall), 2)
    return drift


def size_error_pp(per_split_label: Mapping[str, Mapping[str, int]], ratios: Mapping[str, float]) -> dict[str, float]:
    """Per split, the largest gap (percentage points) between its share of a label's samples and its ratio."""
    per_label: Counter = Counter()
    for counts in per_split_label.values():
        per_label.update(counts)
    return {
        split: round(100 * max((abs(per_split_label.get(split, {}).get(label, 0) / n - ratios[split])
                                for label, n in per_label.items() if n), default=0.0), 2)
        for split in ratios
    }
