"""The annotate step: labels from folder names through the target model's vocabulary, then the event log."""
from __future__ import annotations

from typing import Any

from penta_core.annotate.label_map import labels_path, load_label_map
from penta_core.annotate.labels import annotate
from penta_core.annotate.vocabulary import Vocabulary
from penta_core.core.layout import DatasetLayout
from penta_core.targets.registry import declared


def run(params: dict[str, Any], layout: DatasetLayout) -> list[str]:
    target = params["dataset"]["target_model"]
    if not declared(target).folder_labels:
        # The model's labels come from the data (the targets stage): no folder names, no people's labels.
        s = annotate(layout, Vocabulary({}, {}), None)
        return [(f"{target} takes no labels from folder names: its labels come from the targets stage "
                 f"({s['unlabelled']} samples recorded without a folder label)")]
    vocab = Vocabulary.load(target, params["annotate"]["vocabulary"])
    spec = params["annotate"]["labels"]
    table = load_label_map(spec, labels_path(spec, params, layout), vocab) if spec is not None else None
    s = annotate(layout, vocab, params["annotate"]["events"], table)
    per_label = ", ".join(f"{k} {v}" for k, v in s["per_label"].items()) or "none"
    lines = [(f"annotated {s['labelled']} samples ({per_label}); {s['unlabelled']} without a label, "
             f"{s['conflicts']} label conflicts")]
    if s["events"] or s["events_torn_lines"]:
        lines.append(f"  {s['events']} annotation events: {s['by_annotator']} samples decided by a person"
                     + (f", {s['events_other_samples']} events for samples not in this version"
                        if s["events_other_samples"] else "")
                     + (f", {s['events_torn_lines']} unfinished lines skipped" if s["events_torn_lines"] else ""))
    if table is not None:
        t = s["labels_file"]
        lines.append(f"  {t['labelled']} labelled from {t['path']} ({t['rows']} rows, {t['keys']} files named"
                     + (f", {t['ambiguous_keys']} named twice with different labels" if t["ambiguous_keys"] else "")
                     + (f", {sum(t['unknown_values'].values())} values not in the vocabulary"
                        if t["unknown_values"] else "") + "); folder names label the rest")
    lines += [f"  no label from folder '{f}' ({n} samples)" for f, n in s["unknown_folders"].items()]
    return lines
