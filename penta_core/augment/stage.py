"""The augment step: augment.multiplier variants of every imported sample, with provenance."""
from __future__ import annotations

from typing import Any

from penta_core.augment.variants import augment_dataset
from penta_core.core.layout import DatasetLayout


def run(params: dict[str, Any], layout: DatasetLayout) -> list[str]:
    report = augment_dataset(layout, params)
    s = report["summary"]
    if s["multiplier"] == 0:
        lines = ["augmentation off (augment.multiplier: 0): no variants"]
    else:
        lines = [
            (f"augmented {s['augmented_parents']} of {s['parents']} samples x{s['multiplier']}: "
            f"{s['variants']} variants ({s['per_kind']['midi']} MIDI, {s['per_kind']['audio']} audio); "
            f"{report['generated']} generated, {report['reused']} kept from the last run, "
            f"{s['failed']} samples failed"),
            (f"  {s['shards']} shards in {layout.rel(layout.augmented_dir)}, "
            f"{report['shards_written']} written this run"),
        ]
    if report["removed"]:
        lines.append(f"  removed {report['removed']} stale files from {layout.rel(layout.augmented_dir)}")
    lines += [f"  failed {f['parent']} ({f['path']}): {f['reason']}" for f in report["failed"][:20]]
    if len(report["failed"]) > 20:
        lines.append(f"  ... and {len(report['failed']) - 20} more in {layout.rel(layout.index('augmented'))}")
    return lines
