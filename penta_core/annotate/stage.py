"""The annotate step: labels from folder names through the target model's vocabulary."""
from __future__ import annotations

from typing import Any

from penta_core.annotate.labels import annotate
from penta_core.annotate.vocabulary import Vocabulary
from penta_core.core.layout import DatasetLayout


def run(params: dict[str, Any], layout: DatasetLayout) -> list[str]:
    vocab = Vocabulary.load(params["dataset"]["target_model"], params["annotate"]["vocabulary"])
    s = annotate(layout, vocab)
    per_label = ", ".join(f"{k} {v}" for k, v in s["per_label"].items()) or "none"
    lines = [(f"annotated {s['labelled']} samples ({per_label}); {s['unlabelled']} without a label, "
             f"{s['conflicts']} label conflicts")]
    lines += [f"  no label from folder '{f}' ({n} samples)" for f, n in s["unknown_folders"].items()]
    return lines
