"""The validate step: balance, diversity, quality, structure and leakage → metrics/validation.json.

The manifest streams past one sample at a time and the feature table is read
three columns wide, so the step's memory does not grow with the samples'
records (only the split lists' ids and a few counts are held).
"""
from __future__ import annotations

from typing import Any

from penta_core.core.errors import ValidationFailed
from penta_core.core.io import read_json
from penta_core.core.layout import DatasetLayout
from penta_core.features.table import load_feature_table
from penta_core.manifest.load import iter_samples
from penta_core.splits.lists import read_splits
from penta_core.targets.model import load_model
from penta_core.validation.checks import report_lines, validate_dataset, write_validation

# The feature columns the diversity score reads.
DIVERSITY_COLUMNS = ("key_tonic", "mode_minor", "tempo_bpm")


def _feature_rows(X) -> Any:
    for row in X:
        yield dict(zip(DIVERSITY_COLUMNS, row))


def run(params: dict[str, Any], layout: DatasetLayout) -> list[str]:
    samples = iter_samples(layout)
    feature_rows: Any = ()
    if layout.index("features").exists():
        _, _, X = load_feature_table(layout, DIVERSITY_COLUMNS)  # 3 of 170 columns: 1 MB, not 54, at 40,000 rows
        feature_rows = _feature_rows(X)
    split_report_path = layout.metrics_dir / "splits.json"
    split_report = read_json(split_report_path) if split_report_path.exists() else None
    model = load_model(params["dataset"]["target_model"])
    target = None
    if model.derives:
        # Variants whose augmentation would make the model's labels wrong (groove: timing jitter) are not its data.
        # The model's own checks read the samples as a list (these models' datasets are not the large ones).
        samples = [s for s in samples if s["origin"] != "augmented" or model.uses_variant(s["transform"], params)]
        records = read_json(layout.index("targets"))["samples"] if layout.index("targets").exists() else {}
        target = model.validation(records, samples, params["validate"])
    # feature_status None: each sample's parse status is the manifest's copy of index/features.json's.
    metrics, details = validate_dataset(layout, samples, read_splits(layout), feature_rows, None,
                                        params["validate"], split_report, target=target,
                                        reads=None if model.declaration.folder_labels else model.reads,
                                        class_labels=model.declaration.folder_labels)
    write_validation(layout, metrics, details)
    lines = report_lines(metrics, details)
    if params["validate"]["strict"] and not metrics["valid"]:
        print("\n".join(lines))
        raise ValidationFailed(f"validation failed (validate.strict: true): {'; '.join(details['failing'])}")
    return lines
