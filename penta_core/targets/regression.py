"""Regression baselines (groove, dynamics): train means per (voice or role, position), scored by MAE."""
from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from penta_core.core.layout import DatasetLayout
from penta_core.targets.harmony import write_baseline_files
from penta_core.targets.model import regression_line


def _means(pairs) -> dict:
    sums: dict = defaultdict(lambda: [0.0, 0])
    for key, value in pairs:
        sums[key][0] += value
        sums[key][1] += 1
    return {k: s / n for k, (s, n) in sums.items()}


def _mae(values: list[float]) -> float:
    return round(float(np.mean(values)), 6) if values else 0.0


def regression_baseline(model: str, rows: dict[str, list[tuple[int, int, float | None, float]]],
                        layout: DatasetLayout, what: str) -> list[str]:
    """Velocities (and offsets) from train means per (group, slot), scored by MAE against simple references.

    ``rows``: per split, ``(slot, group, offset_ms or None, velocity)``; the references are the group's train
    mean velocity and a zero offset. Offsets are scored when the rows hold them (groove, not dynamics).
    """
    train = rows["train"]
    with_offsets = any(ms is not None for _, _, ms, _ in train)
    offset = _means(((g, s), ms) for s, g, ms, _ in train if ms is not None)
    velocity = _means(((g, s), v) for s, g, _, v in train)
    voice_velocity = _means((g, v) for _, g, _, v in train)
    overall = float(np.mean([v for *_, v in train])) if train else 64.0
    metrics: dict[str, Any] = {
        "target_model": model, "task": f"{what} regression", "n_train": len(train),
        "model": "train mean per (voice or role, position in the bar)"
                 + (" of offset and velocity" if with_offsets else " of velocity"),
        "reference": ("offset: zero; " if with_offsets else "") + "velocity: the train mean of the voice or role",
        "trained": bool(train),
    }
    for split in ("val", "test"):
        data = rows[split]
        scores: dict[str, Any] = {"n": len(data)}
        if with_offsets:
            scores["offset_mae_ms"] = _mae([abs(ms - offset.get((g, s), 0.0)) for s, g, ms, _ in data])
            scores["offset_mae_ms_zero"] = _mae([abs(ms) for _, _, ms, _ in data])
        scores["velocity_mae"] = _mae([abs(v - velocity.get((g, s), voice_velocity.get(g, overall)))
                                       for s, g, _, v in data])
        scores["velocity_mae_voice_mean"] = _mae([abs(v - voice_velocity.get(g, overall)) for _, g, _, v in data])
        metrics[split] = scores
    write_baseline_files(layout, metrics, [])
    return [regression_line(metrics)]
