"""Validate a dataset version: balance, diversity, quality, structure and leakage.

Each check gives a score and the details behind it. Numbers go to
``metrics/validation.json`` (what ``dvc metrics diff`` compares); names of
failing files and groups go to ``metrics/validation_details.json``; the
distributions behind the plots go to ``metrics/plots/*.csv``.
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict
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


def balance(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Smallest over largest label count (labelled samples only)."""
    counts = Counter(s["label"] for s in samples if s.get("label"))
    score = min(counts.values()) / max(counts.values()) if counts else 0.0
    return {"score": score, "per_label": dict(sorted(counts.items()))}


def diversity(feature_rows: list[dict[str, float]]) -> dict[str, Any]:
    """Spread of keys (12), modes (2) and tempos (20-BPM bins, 40-240) from extracted features."""
    keys = Counter(int(r["key_tonic"]) % 12 for r in feature_rows)
    modes = Counter("minor" if r["mode_minor"] >= 0.5 else "major" for r in feature_rows)
    n_tempo_bins = (TEMPO_RANGE[1] - TEMPO_RANGE[0]) // TEMPO_BIN_BPM
    tempo_bins = Counter(
        int(np.clip((r["tempo_bpm"] - TEMPO_RANGE[0]) // TEMPO_BIN_BPM, 0, n_tempo_bins - 1))
        for r in feature_rows if r["tempo_bpm"] > 0
    )
    parts = {
        "key": _entropy_score(list(keys.values()), 12),
        "mode": _entropy_score(list(modes.values()), 2),
        "tempo": _entropy_score(list(tempo_bins.values()), n_tempo_bins),
    }
    return {
        "score": float(np.mean(list(parts.values()))) if feature_rows else 0.0,
        "parts": parts,
        "keys": {PITCH_CLASS_NAMES[k]: n for k, n in sorted(keys.items())},
        "modes": dict(sorted(modes.items())),
        "tempo_bins": {f"{TEMPO_RANGE[0] + b * TEMPO_BIN_BPM}-{TEMPO_RANGE[0] + (b + 1) * TEMPO_BIN_BPM}": n
                       for b, n in sorted(tempo_bins.items())},
    }


def quality(layout: DatasetLayout, samples: list[dict[str, Any]], feature_status: dict[str, str]) -> dict[str, Any]:
    """Per sample: the file exists, its sha256 matches, it parsed (features ok) and it is labelled.

    ``samples`` are those the target model reads (a MIDI-only model does not count audio as unlabelled).
    """
    problems: dict[str, list[str]] = defaultdict(list)
    passing = 0
    for s in samples:
        bad = []
        if not sample_exists(layout, s):
            bad.append("missing")
        elif sha256_bytes(sample_bytes(layout, s)) != s["sha256"]:
            bad.append("sha256_mismatch")
        elif feature_status and feature_status.get(s["id"]) != "ok":
            bad.append("unparsable")
        if not s.get("label"):
            bad.append("unlabelled")
        for name in bad:
            problems[name].append(s["id"])
        passing += not bad
    return {
        "score": passing / len(samples) if samples else 0.0,
        "counts": {k: len(problems.get(k, [])) for k in ("missing", "sha256_mismatch", "unparsable", "unlabelled")},
        "problems": {k: sorted(v)[:DETAIL_LIMIT] for k, v in sorted(problems.items())},
    }


def structure(layout: DatasetLayout) -> dict[str, Any]:
    expected = list(STRUCTURE_DIRS) + ["config.json", "manifest.json"]
    missing = [p for p in expected if not layout.abs(p).exists()]
    return {"score": 1 - len(missing) / len(expected), "missing": missing}


def leakage(samples: list[dict[str, Any]], splits: dict[str, list[str]]) -> dict[str, Any]:
    """Groups found in more than one split, and eval samples derived from a train sample."""
    by_id = {s["id"]: s for s in samples}
    where: dict[str, set[str]] = defaultdict(set)
    unknown = []
    for name, ids in splits.items():
        for sid in ids:
            if sid not in by_id:
                unknown.append(sid)
                continue
            where[by_id[sid]["group"]].add(name)
    crossing = sorted(g for g, names in where.items() if len(names) > 1)
    train = set(splits.get("train", []))
    derived = sorted(
        sid for name in SPLITS if name != "train" for sid in splits.get(name, [])
        if sid in by_id and by_id[sid].get("parent") in train
    )
    in_two = Counter(sid for ids in splits.values() for sid in ids)
    return {
        "groups": len(crossing), "derived": len(derived), "unknown_ids": len(unknown),
        "duplicated_ids": sum(1 for n in in_two.values() if n > 1),
        "crossing_groups": crossing[:DETAIL_LIMIT], "derived_ids": derived[:DETAIL_LIMIT],
    }


def validate_dataset(layout: DatasetLayout, samples: list[dict[str, Any]], splits: dict[str, list[str]],
                     feature_rows: dict[str, dict[str, float]], feature_status: dict[str, str],
                     thresholds: dict[str, Any], split_report: dict[str, Any] | None = None,
                     target: tuple[dict[str, Any], list[str]] | None = None, reads: tuple[str, ...] | None = None,
                     class_labels: bool = True) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run every check; return ``(metrics, details)``.

    Parameters
    ----------
    samples : manifest samples.
    splits : split name → sample ids.
    feature_rows : sample id → ``{"key_tonic", "mode_minor", "tempo_bpm"}`` of samples whose features are ok.
    feature_status : sample id → ``ok`` / ``failed`` (empty when features were not extracted).
    thresholds : the ``validate`` params block.
    split_report : the splits stage's ``metrics/splits.json`` (moves since the previous build), if any.
    target : the target model's own checks: its metrics (under ``target`` in the result) and failing checks.
    reads : the sample kinds the target model learns from (quality counts those); ``None``: every kind.
    class_labels : the labels are classes whose balance matters (the emotion recognizer's); a model
        whose split label is only a stratum (a key's mode) is not failed for an unbalanced one.
    """
    bal = balance(samples)
    div = diversity(list(feature_rows.values()))
    qual = quality(layout, [s for s in samples if reads is None or s["kind"] in reads], feature_status)
    struct = structure(layout)
    leak = leakage(samples, splits)
    by_id = {s["id"]: s for s in samples}
    per_split = {name: len(ids) for name, ids in splits.items()}
    per_split_label = {
        name: dict(sorted(Counter(by_id[i]["label"] for i in ids if i in by_id).items()))
        for name, ids in splits.items()
    }
    groups = Counter(s["group"] for s in samples)
    originals_per_split_label = {
        name: Counter(by_id[i]["label"] for i in ids if i in by_id and by_id[i]["origin"] == "imported")
        for name, ids in splits.items()
    }
    families = Counter(s["family"] for s in samples if s.get("family"))
    failing = []
    if class_labels and bal["score"] < thresholds["min_balance"]:
        failing.append(f"balance {bal['score']:.2f} < {thresholds['min_balance']}")
    if div["score"] < thresholds["min_diversity"]:
        failing.append(f"diversity {div['score']:.2f} < {thresholds['min_diversity']}")
    if qual["score"] < thresholds["min_quality"]:
        failing.append(f"quality {qual['score']:.2f} < {thresholds['min_quality']}")
    if struct["missing"]:
        failing.append("structure: missing " + ", ".join(struct["missing"]))
    if leak["groups"] or leak["derived"] or leak["duplicated_ids"]:
        failing.append(f"leakage: {leak['groups']} groups cross splits, "
                       f"{leak['derived']} eval samples derive from train")
    if leak["unknown_ids"]:
        failing.append(f"splits name {leak['unknown_ids']} ids the manifest does not hold")
    if target is not None:
        failing += target[1]
    metrics = {
        "valid": not failing,
        "total_samples": len(samples),
        "balance_score": round(bal["score"], 6),
        "diversity_score": round(div["score"], 6),
        "quality_score": round(qual["score"], 6),
        "structure_score": round(struct["score"], 6),
        "leakage_groups": leak["groups"],
        "leakage_derived": leak["derived"],
        "groups": len(groups),
        "largest_group": max(groups.values(), default=0),
        "families": len(families),
        "largest_family": max(families.values(), default=0),
        "samples_in_shared_families": sum(n for n in families.values() if n > 1),
        "split_label_drift_pp": label_drift_pp(originals_per_split_label),
        "per_label": bal["per_label"],
        "per_origin": dict(sorted(Counter(s["origin"] for s in samples).items())),
        "per_split": per_split,
        "per_split_label": per_split_label,
        "quality_counts": qual["counts"],
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
        "quality_problems": qual["problems"],
        "structure_missing": struct["missing"],
        "leakage": {k: leak[k] for k in ("crossing_groups", "derived_ids")},
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
