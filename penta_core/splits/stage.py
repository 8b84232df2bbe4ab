"""The splits step: leak-free, label-stratified, balanced train/val/test lists of sample ids."""
from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from penta_core.core.io import write_json
from penta_core.core.layout import DatasetLayout
from penta_core.core.steps import import_folder
from penta_core.manifest.load import iter_samples
from penta_core.splits.assign import make_splits
from penta_core.splits.family_table import join_families, load_family_keys
from penta_core.splits.lists import SPLITS, read_previous_splits, write_placements, write_splits
from penta_core.splits.moves import moves_since
from penta_core.splits.published import load_published
from penta_core.splits.shares import label_drift_pp, size_error_pp


def split_metrics(placement: dict[str, Any], ratios: dict[str, float], strategy: str,
                  since_previous: dict[str, Any] | None, result: dict[str, Any] | None = None) -> dict[str, Any]:
    """The figures of ``metrics/splits.json``: balance of the placed groups, samples per split and moves.

    ``result`` (what :func:`~penta_core.splits.assign.make_splits` returned) adds the samples
    per split and, under ``strategy: published``, the published split's report.
    """
    per_split_label: dict[str, Counter] = {name: Counter() for name in SPLITS}
    away: Counter = Counter()
    for p in placement.values():
        per_split_label[p.split][p.label] += p.weight
        if p.split != p.home:
            away[f"{p.home}->{p.split}"] += 1
    metrics: dict[str, Any] = {
        "strategy": strategy,
        "groups": len(placement),
        "groups_away_from_hash_split": sum(away.values()),
        "away_from_hash_split": dict(sorted(away.items())),
        "worst_label_drift_pp": label_drift_pp(per_split_label),
        "worst_size_error_pp": size_error_pp(per_split_label, ratios),
        "per_split_label": {k: dict(sorted(v.items())) for k, v in per_split_label.items()},
    }
    if result is not None:
        metrics["samples_per_split"] = {name: len(result[name]) for name in SPLITS}
        if "published" in result:
            metrics["published"] = result["published"]
    if since_previous is not None:
        metrics["since_previous"] = since_previous
    return metrics


# The manifest fields the splits read (splits/assign, groups, published, family_table).
SPLIT_FIELDS = ("id", "group", "origin", "label", "parent", "family", "source", "sources")


def run(params: dict[str, Any], layout: DatasetLayout) -> list[str]:
    split_params = params["split"]
    # Only the fields the split code reads are kept (not the transform, info, sha256, ...), so the
    # samples held are a third of the manifest's records.
    samples = [{k: s[k] for k in SPLIT_FIELDS if k in s} for s in iter_samples(layout)]
    joined = None
    if split_params["families"] is not None:
        keys, table, rows = load_family_keys(split_params["families"], import_folder(params, layout))
        groups, counts = join_families(samples, keys)
        joined = {"table": table, "table_rows": rows, **counts}
        samples = [dict(s, group=groups[s["id"]]) for s in samples]
    published = None
    if split_params["strategy"] == "published":
        published = load_published(split_params["published"], import_folder(params, layout))
    result = make_splits(samples, split_params, params["seed"], published)
    placement = result["placement"]
    previous = read_previous_splits(layout)
    since = None
    if previous is not None:
        since = moves_since(*previous, placement, {s["id"]: s["group"] for s in samples})
    write_splits(layout, result)
    write_placements(layout, split_params["strategy"], placement)
    ratios = {name: split_params[name] for name in SPLITS}
    metrics = split_metrics(placement, ratios, split_params["strategy"], since, result)
    if joined is not None:
        metrics["families_table"] = joined
    write_json(layout.metrics_dir / "splits.json", metrics)
    counts = ", ".join(f"{name} {len(result[name])}" for name in SPLITS)
    left_out = ", ".join(f"{k} {v}" for k, v in result["excluded"].items()) or "none"
    away = defaultdict(int, metrics["away_from_hash_split"])
    lines = [
        f"splits: {counts}; left out: {left_out}",
        f"balance ({metrics['strategy']}): {metrics['groups_away_from_hash_split']} of {len(placement)} groups "
        f"placed away from their hash split ({', '.join(f'{k} {v}' for k, v in away.items()) or 'none'}); "
        "worst label drift " + ", ".join(f"{k} {v:.1f} pp" for k, v in metrics["worst_label_drift_pp"].items()),
    ]
    if joined is not None:
        lines.append(f"families from {joined['table']}: {joined['samples_named']} samples named, "
                     f"{joined['families_of_several']} families of several samples, "
                     f"{joined['groups_joined']} groups joined into others")
    if "published" in result:
        p = result["published"]
        u = p["unlisted"]
        lines.append(f"published split ({p['source']}): {p['listed_samples']} samples listed; "
                     f"{p['families_moved']} families the publisher spread over splits moved whole to their "
                     f"majority ({p['families_tied_to_eval']} ties to the eval side, {p['samples_moved']} samples "
                     f"moved); {u['samples']} samples unlisted ({u['following_their_family']} follow their family, "
                     + (f"{u['excluded']} left out" if u["policy"] == "exclude" else f"{u['seeded']} placed by seed")
                     + f" in {u['families']} families)")
    if since is None:
        lines.append("since the previous build: unknown (no previous split lists)")
    else:
        why = ", ".join(f"{k} {v}" for k, v in since["reasons"].items()) or "none"
        kept = (f"; {since['eval_groups_kept']} of {since['eval_groups']} previous val/test groups kept"
                if since["eval_groups"] else "")
        lines.append(f"since the previous build: {since['groups_moved']} groups moved ({why}){kept}")
    return lines
