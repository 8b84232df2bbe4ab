"""The overview page's charts: the version's labels, keys, tempi, durations, families, baseline and changes.

Each chart is a Vega-Lite spec with its data inline, drawn in the page by the
vendored Vega-Embed. The metrics comparison reads the metric files of another
git revision (``HEAD`` by default, as ``dvc metrics diff`` does) with ``git show``.
"""
from __future__ import annotations

import json
import subprocess
from collections import Counter
from typing import Any

from penta_core.core.io import read_json

SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"
METRIC_FILES = ("validation.json", "baseline.json")


def _chart(chart_id: str, title: str, values: list[dict[str, Any]], mark: Any, encoding: dict[str, Any],
           **extra: Any) -> dict[str, Any]:
    spec = {"$schema": SCHEMA, "data": {"values": values}, "mark": mark, "encoding": encoding,
            "width": "container", "height": 180, **extra}
    return {"id": chart_id, "title": title, "spec": spec, "n": len(values)}


def flatten_numbers(tree: Any, prefix: str = "") -> dict[str, float]:
    """Numeric leaves of a JSON tree by dotted path (booleans as 0/1)."""
    out: dict[str, float] = {}
    if isinstance(tree, dict):
        for key, value in tree.items():
            out.update(flatten_numbers(value, f"{prefix}{key}."))
    elif isinstance(tree, (bool, int, float)):
        out[prefix[:-1]] = float(tree)
    return out


def metrics_diff(metrics_dir, rev: str) -> dict[str, Any]:
    """Numeric metrics now vs at git revision ``rev``: ``{"rev", "rows": [{metric, old, new, change}], "error"}``."""
    rows, errors = [], []
    for name in METRIC_FILES:
        path = metrics_dir / name
        new = flatten_numbers(read_json(path)) if path.exists() else {}
        result = subprocess.run(["git", "show", f"{rev}:./{name}"], cwd=metrics_dir, capture_output=True, text=True)
        if result.returncode != 0:
            reason = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "absent"
            errors.append(f"{name} at {rev}: {reason}")
            old = {}
        else:
            try:
                old = flatten_numbers(json.loads(result.stdout))
            except json.JSONDecodeError:
                errors.append(f"{name} at {rev}: not JSON")
                old = {}
        for key in sorted(set(new) | set(old)):
            before, after = old.get(key), new.get(key)
            if before == after:
                continue
            rows.append({"metric": f"{name[:-5]}.{key}", "old": before, "new": after,
                         "change": None if before is None or after is None else round(after - before, 6)})
    return {"rev": rev, "rows": rows, "errors": errors}


def overview(session, rev: str = "HEAD") -> dict[str, Any]:
    """Every chart of the overview page and the metrics comparison with ``rev``."""
    rows = session.built_rows()
    charts = []
    per_split = Counter((r["split"] or "none", r["built_label"] or "unlabelled") for r in rows)
    charts.append(_chart(
        "labels", "Samples per label and split",
        [{"label": label, "split": split, "count": n} for (split, label), n in sorted(per_split.items())],
        "bar", {"y": {"field": "label", "type": "nominal", "title": None},
                "x": {"field": "count", "type": "quantitative", "stack": "zero"},
                "color": {"field": "split", "type": "nominal", "scale": {"domain": ["train", "val", "test", "none"]}}}))
    keys = Counter(r["key"] for r in rows if r.get("key"))
    charts.append(_chart("keys", "Keys (from features)", [{"key": k, "count": n} for k, n in sorted(keys.items())],
                         "bar", {"x": {"field": "key", "type": "nominal", "sort": "-y", "title": None},
                                 "y": {"field": "count", "type": "quantitative"}}))
    for field, title, step in (("tempo_bpm", "Tempo (BPM)", 10), ("duration_s", "Duration (s)", None)):
        values = [{field: r[field]} for r in rows if r.get(field) is not None]
        charts.append(_chart(field, title, values, "bar", {
            "x": {"field": field, "type": "quantitative", "bin": {"step": step} if step else {"maxbins": 30},
                  "title": title},
            "y": {"aggregate": "count", "type": "quantitative", "title": "samples"}}))
    sizes = Counter(Counter(r["family"] for r in rows).values())
    charts.append(_chart("families", "Family sizes (samples per family)",
                         [{"size": s, "families": n} for s, n in sorted(sizes.items())], "bar",
                         {"x": {"field": "size", "type": "ordinal"},
                          "y": {"field": "families", "type": "quantitative"}}))
    baseline = session.layout.metrics_dir / "baseline.json"
    confusion = read_json(baseline).get("test", {}).get("confusion", {}) if baseline.exists() else {}
    cells = [{"actual": a, "predicted": p, "count": n} for a, row in sorted(confusion.items())
             for p, n in sorted(row.items())]
    charts.append(_chart("confusion", "Baseline confusion (test)", cells, {"type": "rect"}, {
        "x": {"field": "predicted", "type": "nominal"}, "y": {"field": "actual", "type": "nominal"},
        "color": {"field": "count", "type": "quantitative"}}))
    diff = metrics_diff(session.layout.metrics_dir, rev)
    changed = [r for r in diff["rows"] if r["change"] is not None]
    charts.append(_chart("diff", f"Metrics changed since {rev}", changed, "bar", {
        "y": {"field": "metric", "type": "nominal", "sort": "-x", "title": None},
        "x": {"field": "change", "type": "quantitative"}}))
    return {"dataset": session.layout.name, "charts": charts, "diff": diff,
            "annotation": {"events": session.event_count,
                           "decided": sum(1 for r in session.queue() if r["decided"])}}
