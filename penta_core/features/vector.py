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
    columns = tuple(columns)
    numbers = [float(values.get(name, 0.0)) for name in columns]
    flags = list(flags)
    if not all(map(math.isfinite, numbers)):
        numbers = [v if math.isfinite(v) else 0.0 for v in numbers]
        flags.append("non_finite_replaced")
    # 10 significant digits: stable across platforms, ample for training.
    # One %-format of every value, then one parse each: float(f"{v:.10g}") without a call per value.
    rounded = map(float, (("%.10g " * len(numbers)) % tuple(numbers)).split())
    features: dict[str, Any] = dict(zip(columns, rounded, strict=True))
    features["mode"] = values.get("mode", "major")
    return {"features": features, "flags": sorted(set(flags)), "details": details}
