"""Balance one label's groups across splits by moving the groups nearest a cut.

Groups of one label are sorted by their hash unit; the pure hash split puts
them *home*: train below the first ratio edge (0.70), val up to the second
(0.85), test above. Home assignments rarely hit the ratios exactly, so a
bounded repair moves single groups across a cut (train↔val, val↔test),
always the group nearest that cut in hash space whose move reduces the
total excess beyond tolerance, until every split is within tolerance. Only
groups close to a cut ever leave home, so two datasets that share most
groups share most assignments, and the result depends on the groups given
alone: a clean build and an incremental build agree.
"""
from __future__ import annotations

from bisect import bisect_left

SPLIT_NAMES = ("train", "val", "test")
# A split's size may differ from its ratio by the label's largest group or by
# this share of the label's samples, whichever is larger ...
SIZE_TOLERANCE = 0.02
# ... and a label's share of a split may differ from its share overall by this
# much; half of it is allowed per label so that errors of several labels add up within it.
SHARE_TOLERANCE = 0.03
# How far from a cut (in groups) the repair looks for a group whose weight fits.
SEARCH = 32
_MOVES = (("train", "val", 0), ("val", "train", 0), ("val", "test", 1), ("test", "val", 1))


def tolerances(weights: list[int], ratios: dict[str, float], total_all_labels: int) -> dict[str, float]:
    """Allowed distance, in samples, between each split's size and its target for one label.

    Example
    -------
    >>> t = tolerances([1] * 100, {"train": 0.7, "val": 0.15, "test": 0.15}, 400)
    >>> {k: round(v, 2) for k, v in t.items()}
    {'train': 2.0, 'val': 0.9, 'test': 0.9}
    """
    total = sum(weights)
    size = max(max(weights, default=0), SIZE_TOLERANCE * total)
    return {name: max(0.5, min(size, SHARE_TOLERANCE / 2 * ratios[name] * total_all_labels))
            for name in SPLIT_NAMES}


def balance_label(units: list[float], weights: list[int], ratios: dict[str, float],
                  total_all_labels: int) -> list[str]:
    """The split of each of one label's groups, given in hash order.

    Parameters
    ----------
    units : hash units of the label's groups, sorted ascending.
    weights : samples each group brings to the split it lands in (>= 1 each).
    ratios : ``{"train": .., "val": .., "test": ..}`` summing to 1.
    total_all_labels : samples of every label together (the share tolerance is relative to it).

    Returns
    -------
    list of str : the split per group, in the order given.

    Example
    -------
    >>> balance_label([0.1, 0.2, 0.3, 0.5, 0.6, 0.65, 0.68, 0.69, 0.9, 0.95], [1] * 10,
    ...               {"train": 0.7, "val": 0.15, "test": 0.15}, 10)
    ['train', 'train', 'train', 'train', 'train', 'train', 'train', 'val', 'test', 'test']
    """
    n = len(units)
    cuts = (bisect_left(units, ratios["train"]), bisect_left(units, ratios["train"] + ratios["val"]))
    split = ["train" if i < cuts[0] else "val" if i < cuts[1] else "test" for i in range(n)]
    total = sum(weights)
    if total == 0:
        return split
    tol = tolerances(weights, ratios, total_all_labels)
    excess = {name: -ratios[name] * total for name in SPLIT_NAMES}
    for name, w in zip(split, weights):
        excess[name] += w

    def violation(ex: dict[str, float]) -> float:
        return sum(max(0.0, abs(ex[s]) - tol[s]) for s in SPLIT_NAMES)

    current = violation(excess)
    for _ in range(n):
        if current <= 1e-9:
            break
        best: tuple[float, float, int, str] | None = None
        for source, target, cut in _MOVES:
            if ratios[target] == 0 or (excess[source] <= 0 and excess[target] >= 0):
                continue
            edge = cuts[cut]
            # Walk away from the cut on the source side, nearest group first.
            walk = range(edge - 1, -1, -1) if (source == "train" or (source == "val" and cut == 1)) \
                else range(edge, n)
            seen = 0
            for i in walk:
                if split[i] != source:
                    continue
                seen += 1
                if seen > SEARCH:
                    break
                trial = dict(excess)
                trial[source] -= weights[i]
                trial[target] += weights[i]
                gain = current - violation(trial)
                if gain > 1e-9:
                    distance = abs(units[i] - (ratios["train"] if cut == 0 else ratios["train"] + ratios["val"]))
                    if best is None or (distance, -gain) < (best[0], best[1]):
                        best = (distance, -gain, i, target)
                    break
        if best is None:
            break
        _, _, i, target = best
        excess[split[i]] -= weights[i]
        excess[target] += weights[i]
        split[i] = target
        current = violation(excess)
    return split
