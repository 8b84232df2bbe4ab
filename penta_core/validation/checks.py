"""Validate a dataset version: balance, diversity, quality, structure and leakage.

Each check gives a score and the details behind it. Numbers go to
``metrics/validation.json`` (what ``dvc metrics diff`` compares); names of
failing files and groups go to ``metrics/validation_details.json``; the
distributions behind the plots go to ``metrics/plots/*.csv``.
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from penta_core.core.io import atomic_write_text, sha256_bytes, write_json
from penta_core.core.layout import STRUCTURE_DIRS, DatasetLayout
from penta_core.features.key import PITCH_CLASS_NAMES
from penta_core.splits.lists import SPLITS
from penta_core.splits.shares import label_drift_pp
from penta_core.store.access import sample_bytes, sample_exists

TEMPO_BIN_BPM = 20
TEMPO_RANGE = (40, 240)
DETAIL_LIMIT = 50


def _entropy_score(counts: list[int], n_bins: int) -> float:
    """Normalised Shannon entropy in [0, 1]: 1 when spread evenly over ``n_bins``."""
    total = sum(counts)
    if total == 0 or n_bins < 2:
        return 0.0
    p = np.array([c / total for c in counts if c > 0])
    return float(-(p * np.log(p)).sum() / math.log(n_bins))


def structure(layout: DatasetLayout) -> dict[str, Any]:
    expected = list(STRUCTURE_DIRS) + ["config.json", "manifest.json"]
    missing = [p for p in expected if not layout.abs(p).exists()]
    return {"score": 1 - len(missing) / len(expected), "missing": missing}


class _Smallest:
    """How many ids were added, and the ``limit`` smallest of them (a report names those, not all)."""

    def __init__(self, limit: int = DETAIL_LIMIT) -> None:
        self.limit, self.count, self._items = limit, 0, []

    def add(self, item: str) -> None:
        self.count += 1
        self._items.append(item)
        if len(self._items) > 4 * self.limit:
            self._items.sort()
            del self._items[self.limit:]

    def first(self) -> list[str]:
        return sorted(self._items)[:self.limit]


def balance(samples: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Smallest over largest label count (labelled samples only)."""
    return _balance(Counter(s["label"] for s in samples if s.get("label")))


def _balance(counts: Counter) -> dict[str, Any]:
    score = min(counts.values()) / max(counts.values()) if counts else 0.0
    return {"score": score, "per_label": dict(sorted(counts.items()))}


def diversity(feature_rows: Iterable[Mapping[str, float]]) -> dict[str, Any]:
    """Spread of keys (12), modes (2) and tempos (20-BPM bins, 40-240) from extracted features.

    ``feature_rows`` is read once, a row at a time.
    """
    n_tempo_bins = (TEMPO_RANGE[1] - TEMPO_RANGE[0]) // TEMPO_BIN_BPM
    keys: Counter = Counter()
    modes: Counter = Counter()
    tempo_bins: Counter = Counter()
    any_row = False
    for r in feature_rows:
        any_row = True
        keys[int(r["key_tonic"]) % 12] += 1
        modes["minor" if r["mode_minor"] >= 0.5 else "major"] += 1
        if r["tempo_bpm"] > 0:
            tempo_bins[int(np.clip((r["tempo_bpm"] - TEMPO_RANGE[0]) // TEMPO_BIN_BPM, 0, n_tempo_bins - 1))] += 1
    parts = {
        "key": _entropy_score(list(keys.values()), 12),
        "mode": _entropy_score(list(modes.values()), 2),
        "tempo": _entropy_score(list(tempo_bins.values()), n_tempo_bins),
    }
    return {
        "score": float(np.mean(list(parts.values()))) if any_row else 0.0,
        "parts": parts,
        "keys": {PITCH_CLASS_NAMES[k]: n for k, n in sorted(keys.items())},
        "modes": dict(sorted(modes.items())),
        "tempo_bins": {f"{TEMPO_RANGE[0] + b * TEMPO_BIN_BPM}-{TEMPO_RANGE[0] + (b + 1) * TEMPO_BIN_BPM}": n
                       for b, n in sorted(tempo_bins.items())},
    }


QUALITY_PROBLEMS = ("missing", "sha256_mismatch", "unparsable", "unlabelled")


def _quality_problems(layout: DatasetLayout, s: dict[str, Any], feature_status: dict[str, str] | None) -> list[str]:
    """What is wrong with one sample: its file is missing or its sha256 differs, it did not parse, no label.

    ``feature_status`` ``None``: the sample's own ``features`` field (the manifest's copy of the features
    stage's status, present when features were extracted) says whether it parsed.
    """
    bad = []
    status = s.get("features") if feature_status is None else feature_status.get(s["id"]) if feature_status else None
    parsed_known = "features" in s if feature_status is None else bool(feature_status)
    if not sample_exists(layout, s):
        bad.append("missing")
    elif sha256_bytes(sample_bytes(layout, s)) != s["sha256"]:
        bad.append("sha256_mismatch")
    elif parsed_known and status != "ok":
        bad.append("unparsable")
    if not s.get("label"):
        bad.append("unlabelled")
    return bad


class _SplitTally:
    """What the checks need from the split lists, gathered while the manifest streams past.

    Each listed id maps to a small code naming the lists it appears in (with
    repeats), so the tally holds one dict entry per listed id, not a copy of
    every sample.
    """

    def __init__(self, splits: Mapping[str, Sequence[str]]) -> None:
        self.names = list(splits)
        self.patterns: list[tuple[str, ...]] = []
        codes: dict[tuple[str, ...], int] = {}
        self.code: dict[str, int] = {}
        for name, ids in splits.items():
            for sid in ids:
                old = self.code.get(sid)
                pattern = (*self.patterns[old], name) if old is not None else (name,)
                if pattern not in codes:
                    codes[pattern] = len(self.patterns)
                    self.patterns.append(pattern)
                self.code[sid] = codes[pattern]
        self.per_split = {name: len(ids) for name, ids in splits.items()}
        self.duplicated = sum(1 for c in self.code.values() if len(self.patterns[c]) > 1)
        self.where: dict[str, set[str]] = defaultdict(set)
        self.per_split_label: dict[str, Counter] = {name: Counter() for name in self.names}
        self.originals: dict[str, Counter] = {name: Counter() for name in self.names}
        self.derived = _Smallest()

    def lists_of(self, sample_id: str | None) -> tuple[str, ...]:
        code = self.code.get(sample_id) if sample_id is not None else None
        return () if code is None else self.patterns[code if code >= 0 else ~code]

    def add(self, s: dict[str, Any]) -> None:
        """A manifest sample (the last of those sharing its id)."""
        code = self.code.get(s["id"])
        if code is None:
            return
        if code >= 0:
            self.code[s["id"]] = ~code  # seen: what is still >= 0 at the end is unknown to the manifest
        for name in self.patterns[code if code >= 0 else ~code]:
            self.where[s["group"]].add(name)
            self.per_split_label[name][s["label"]] += 1
            if s["origin"] == "imported":
                self.originals[name][s["label"]] += 1
            if name in SPLITS and name != "train" and "train" in self.lists_of(s.get("parent")):
                self.derived.add(s["id"])

    def unknown(self) -> int:
        return sum(len(self.patterns[c]) for c in self.code.values() if c >= 0)


def validate_dataset(layout: DatasetLayout, samples: Iterable[dict[str, Any]], splits: dict[str, list[str]],
                     feature_rows: Iterable[Mapping[str, float]] | Mapping[str, Mapping[str, float]],
                     feature_status: dict[str, str] | None,
                     thresholds: dict[str, Any], split_report: dict[str, Any] | None = None,
                     target: tuple[dict[str, Any], list[str]] | None = None, reads: tuple[str, ...] | None = None,
                     class_labels: bool = True) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run every check; return ``(metrics, details)``.

    The samples are read once, one at a time, so a manifest can stream
    past (:func:`penta_core.manifest.load.iter_samples`); what is held is
    counts, one small entry per split-listed id and the first names of each
    problem.

    Parameters
    ----------
    samples : manifest samples, sorted by id (samples sharing an id must be adjacent: the last one counts
        for the split checks, as a manifest read into a dict by id would).
    splits : split name → sample ids.
    feature_rows : ``{"key_tonic", "mode_minor", "tempo_bpm"}`` of each sample whose features are ok
        (a mapping sample id → row is accepted too), read once.
    feature_status : sample id → ``ok`` / ``failed`` (empty when features were not extracted); ``None``:
        each sample's own ``features`` field, as the manifest records it.
    thresholds : the ``validate`` params block.
    split_report : the splits stage's ``metrics/splits.json`` (moves since the previous build), if any.
    target : the target model's own checks: its metrics (under ``target`` in the result) and failing checks.
    reads : the sample kinds the target model learns from (quality counts those); ``None``: every kind.
    class_labels : the labels are classes whose balance matters (the emotion recognizer's); a model
        whose split label is only a stratum (a key's mode) is not failed for an unbalanced one.
    """
    if isinstance(feature_rows, Mapping):
        feature_rows = feature_rows.values()
    tally = _SplitTally(splits)
    labels: Counter = Counter()
    origins: Counter = Counter()
    groups: Counter = Counter()
    families: Counter = Counter()
    problems = {name: _Smallest() for name in QUALITY_PROBLEMS}
    checked = passing = total = 0
    last: dict[str, Any] | None = None
    for s in samples:
        total += 1
        if s.get("label"):
            labels[s["label"]] += 1
        origins[s["origin"]] += 1
        groups[s["group"]] += 1
        if s.get("family"):
            families[s["family"]] += 1
        if reads is None or s["kind"] in reads:
            bad = _quality_problems(layout, s, feature_status)
            for name in bad:
                problems[name].add(s["id"])
            checked += 1
            passing += not bad
        if last is not None and last["id"] != s["id"]:
            tally.add(last)
        last = s
    if last is not None:
        tally.add(last)
    bal = _balance(labels)
    div = diversity(feature_rows)
    qual_score = passing / checked if checked else 0.0
    struct = structure(layout)
    crossing = sorted(g for g, names in tally.where.items() if len(names) > 1)
    unknown = tally.unknown()
    failing = []
    if class_labels and bal["score"] < thresholds["min_balance"]:
        failing.append(f"balance {bal['score']:.2f} < {thresholds['min_balance']}")
    if div["score"] < thresholds["min_diversity"]:
        failing.append(f"diversity {div['score']:.2f} < {thresholds['min_diversity']}")
    if qual_score < thresholds["min_quality"]:
        failing.append(f"quality {qual_score:.2f} < {thresholds['min_quality']}")
    if struct["missing"]:
        failing.append("structure: missing " + ", ".join(struct["missing"]))
    if crossing or tally.derived.count or tally.duplicated:
        failing.append(f"leakage: {len(crossing)} groups cross splits, "
                       f"{tally.derived.count} eval samples derive from train")
    if unknown:
        failing.append(f"splits name {unknown} ids the manifest does not hold")
    if target is not None:
        failing += target[1]
    metrics = {
        "valid": not failing,
        "total_samples": total,
        "balance_score": round(bal["score"], 6),
        "diversity_score": round(div["score"], 6),
        "quality_score": round(qual_score, 6),
        "structure_score": round(struct["score"], 6),
        "leakage_groups": len(crossing),
        "leakage_derived": tally.derived.count,
        "groups": len(groups),
        "largest_group": max(groups.values(), default=0),
        "families": len(families),
        "largest_family": max(families.values(), default=0),
        "samples_in_shared_families": sum(n for n in families.values() if n > 1),
        "split_label_drift_pp": label_drift_pp(tally.originals),
        "per_label": bal["per_label"],
        "per_origin": dict(sorted(origins.items())),
        "per_split": tally.per_split,
        "per_split_label": {name: dict(sorted(c.items())) for name, c in tally.per_split_label.items()},
        "quality_counts": {name: problems[name].count for name in QUALITY_PROBLEMS},
        "diversity_parts": {k: round(v, 6) for k, v in div["parts"].items()},
        "failing_checks": len(failing),
    }
    if target is not None and target[0]:
        metrics["target"] = target[0]
    since = (split_report or {}).get("since_previous")
    if since is not None:
        metrics["split_groups_moved"] = since["groups_moved"]
    details = {
        "failing": failing,
        "quality_problems": {name: problems[name].first() for name in sorted(QUALITY_PROBLEMS)
                             if problems[name].count},
        "structure_missing": struct["missing"],
        "leakage": {"crossing_groups": crossing[:DETAIL_LIMIT], "derived_ids": tally.derived.first()},
        "keys": div["keys"], "modes": div["modes"], "tempo_bins": div["tempo_bins"],
    }
    return metrics, details


def write_plots(layout: DatasetLayout, metrics: dict[str, Any], details: dict[str, Any]) -> None:
    """CSV tables behind ``dvc plots show``: label counts per split, keys, tempos."""
    folder = layout.metrics_dir / "plots"
    rows = ["split_label,count"] + [
        f"{label} ({split}),{n}" for split in SPLITS for label, n in metrics["per_split_label"].get(split, {}).items()
    ]
    atomic_write_text(folder / "label_counts.csv", "\n".join(rows) + "\n")
    atomic_write_text(folder / "keys.csv", "key,count\n" + "".join(f"{k},{n}\n" for k, n in details["keys"].items()))
    atomic_write_text(folder / "tempos.csv",
                      "tempo_bpm,count\n" + "".join(f"{k},{n}\n" for k, n in details["tempo_bins"].items()))


def report_lines(metrics: dict[str, Any], details: dict[str, Any]) -> list[str]:
    """The validation report, with the failing checks named."""
    rule = "=" * 70
    lines = [
        rule, "Dataset Validation Report", rule,
        f"Valid: {'✅' if metrics['valid'] else '❌'}",
        f"Total Samples: {metrics['total_samples']}",
        f"Balance Score: {metrics['balance_score']:.2%}",
        f"Diversity Score: {metrics['diversity_score']:.2%}",
        f"Quality Score: {metrics['quality_score']:.2%}",
        f"Structure Score: {metrics['structure_score']:.2%}",
        f"Leakage: {metrics['leakage_groups']} groups across splits, {metrics['leakage_derived']} derived eval samples",
        f"Groups: {metrics['groups']} (largest {metrics['largest_group']} samples)",
        (f"Families: {metrics['families']} (largest {metrics['largest_family']} samples, "
         f"{metrics['samples_in_shared_families']} samples share a family)"),
        "Label drift in splits: " + (", ".join(f"{k} {v:.1f} pp" for k, v in metrics["split_label_drift_pp"].items())
                                     or "none"),
        "Splits: " + ", ".join(f"{k} {metrics['per_split'].get(k, 0)}" for k in SPLITS),
    ]
    if "target" in metrics:
        lines.append("Target: " + ", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}"
                                            for k, v in metrics["target"].items()))
    lines += [f"Failing: {f}" for f in details["failing"]]
    lines.append(rule)
    return lines


def write_validation(layout: DatasetLayout, metrics: dict[str, Any], details: dict[str, Any]) -> None:
    write_json(layout.metrics_dir / "validation.json", metrics)
    write_json(layout.metrics_dir / "validation_details.json", details)
    write_plots(layout, metrics, details)
