"""Turn a partly filled feature dict into the fixed, finite vector every sample gets."""
from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any


def finish_features(values: dict[str, Any], columns: Iterable[str], flags: list[str],
                    details: dict[str, Any]) -> dict[str, Any]:
    """Every column present and finite, rounded; ``mode`` carried along; flags sorted.

    A missing column is 0; a NaN or infinite one becomes 0 and adds the flag
    ``non_finite_replaced``, so a model never sees either.
    """
    features: dict[str, Any] = {}
    flags = list(flags)
    for name in columns:
        value = float(values.get(name, 0.0))
        if not math.isfinite(value):
            value = 0.0
            flags.append("non_finite_replaced")
        # 10 significant digits: stable across platforms, ample for training.
        features[name] = float(f"{value:.10g}")
    features["mode"] = values.get("mode", "major")
    return {"features": features, "flags": sorted(set(flags)), "details": details}
