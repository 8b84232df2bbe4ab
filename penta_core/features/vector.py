"""Turn a partly filled feature dict into the fixed, finite vector every sample gets."""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from operator import itemgetter
from typing import Any

import numpy as np

# Below this magnitude an integer-valued float has at most 10 significant digits,
# so rounding to 10 significant digits gives it back unchanged.
_EXACT_BELOW = 1e10


def finished_vector(values: dict[str, Any], columns: Sequence[str], flags: list[str]
                    ) -> tuple[np.ndarray, list[str]]:
    """Every column of ``values`` as a finite float64 vector rounded to 10 significant digits; the sorted flags.

    Parameters
    ----------
    values : raw feature values by column name (a missing column is 0).
    columns : the columns, in the order of the vector.
    flags : the sample's flags so far.

    Returns
    -------
    vector : float64, ``float(f"{v:.10g}")`` of each value ``v``; a NaN or
        infinite value becomes 0 and adds the flag ``non_finite_replaced``.
    flags : sorted, each once.

    Example
    -------
    >>> finished_vector({"a": 1 / 3, "b": 2}, ("a", "b", "c"), [])
    (array([0.3333333333, 2.        , 0.        ]), [])
    """
    try:
        numbers = list(map(float, itemgetter(*columns)(values))) if len(columns) > 1 else \
            [float(values[c]) for c in columns]
    except KeyError:
        numbers = [float(values.get(name, 0.0)) for name in columns]
    flags = list(flags)
    if not all(map(math.isfinite, numbers)):
        numbers = [v if math.isfinite(v) else 0.0 for v in numbers]
        flags.append("non_finite_replaced")
    vector = np.array(numbers, dtype=np.float64)
    # 10 significant digits: stable across platforms, ample for training. Integer values (counts,
    # zeros) are already that; the others get one %-format and one parse each, without a call per value.
    inexact = np.flatnonzero((vector != np.trunc(vector)) | ~(np.abs(vector) < _EXACT_BELOW))
    if inexact.size:
        loose = vector[inexact].tolist()
        vector[inexact] = list(map(float, (("%.10g " * len(loose)) % tuple(loose)).split()))
    return vector, sorted(set(flags))


def finish_features(values: dict[str, Any], columns: Iterable[str], flags: list[str],
                    details: dict[str, Any]) -> dict[str, Any]:
    """Every column present and finite, rounded; ``mode`` carried along; flags sorted.

    A missing column is 0; a NaN or infinite one becomes 0 and adds the flag
    ``non_finite_replaced``, so a model never sees either (:func:`finished_vector`).
    """
    columns = tuple(columns)
    vector, flags = finished_vector(values, columns, flags)
    features: dict[str, Any] = dict(zip(columns, vector.tolist(), strict=True))
    features["mode"] = values.get("mode", "major")
    return {"features": features, "flags": flags, "details": details}
