"""``export/README.md``: the dataset card, in the Hugging Face format, written from the version's own metadata.

A YAML header (licence, task, size category, and ``configs`` naming the
Parquet file of each split, so ``datasets.load_dataset`` on the folder finds
the splits), then what the version holds, how it was built, label counts per
split, the files and fields, how to load them, and the known limits. Every
figure comes from the manifest, the split lists, the metrics and the params:
the card changes exactly when what it describes does.
"""
from __future__ import annotations

from collections import Counter
from typing import Any

import yaml

from penta_core.core.io import read_json
from penta_core.core.layout import DatasetLayout
from penta_core.export.records import HUB_SPLITS, ExportPlan
from penta_core.manifest.load import load_manifest_head
from penta_core.splits.lists import SPLITS

# Hugging Face task category of each target model's data.
TASKS = {"emotionrecognizer": ("audio-classification", ["music", "midi", "emotion-recognition", "symbolic-music"])}


def size_category(n: int) -> str:
    """The Hugging Face size category of ``n`` samples (``n<1K``, ``1K<n<10K``, ...)."""
    bounds = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
              (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M")]
    return next((name for limit, name in bounds if n < limit), "n>100M")


def _header(plan: ExportPlan, params: dict[str, Any], catalogue: dict[str, Any]) -> str:
    target = params["dataset"]["target_model"]
    task, tags = TASKS.get(target, ("other", ["music"]))
    total = sum(plan.count(s) for s in SPLITS)
    if "parquet" in catalogue["formats"]:
        data_files = [{"split": HUB_SPLITS[s], "path": f"{s}.parquet"} for s in SPLITS]
    elif "webdataset" in catalogue["formats"]:
        data_files = [{"split": HUB_SPLITS[s], "path": f"webdataset/{s}-*.tar"} for s in SPLITS
                      if catalogue["exports"]["webdataset"][s]["files"]]
    else:  # LMDB alone: nothing a hub loader reads
        data_files = []
    header = {
        "license": params["export"]["license"],
        "pretty_name": params["dataset"]["name"],
        "task_categories": [task],
        "tags": [*tags, "penta-core"],
        "size_categories": [size_category(total)],
    }
    if data_files:
        header["configs"] = [{"config_name": "default", "data_files": data_files}]
    return "---\n" + yaml.safe_dump(header, sort_keys=False, allow_unicode=True) + "---\n"


def _table(head: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


def _optional_json(path) -> dict[str, Any]:
    try:
        return read_json(path) if path.is_file() else {}
    except ValueError:
        return {}


def _range(values: list) -> str:
    return f"{values[0]:g} to {values[1]:g}"


def card_text(layout: DatasetLayout, plan: ExportPlan, params: dict[str, Any], catalogue: dict[str, Any]) -> str:
    """The card's Markdown for the export described by ``catalogue`` (see the module docstring)."""
    manifest = load_manifest_head(layout)  # the summary and the augmentation policy; the samples stream elsewhere
    summary = manifest["summary"]
    name = params["dataset"]["name"]
    target = params["dataset"]["target_model"]
    validation = _optional_json(layout.metrics_dir / "validation.json")
    baseline = _optional_json(layout.metrics_dir / "baseline.json")
    stats = {s: plan.stats[s] for s in SPLITS}
    total = sum(st.count for st in stats.values())
    kinds = sum((st.kinds for st in stats.values()), Counter())
    out = [_header(plan, params, catalogue), f"# {name}", ""]
    out += [
        (f"Music samples labelled for the `{target}` model: {total} samples in train, validation and test "
        f"({kinds.get('midi', 0)} MIDI, {kinds.get('audio', 0)} audio), each with its label "
        f"({', '.join(plan.classes)}), valence and arousal, its split group, where it came from, "
        f"and {len(plan.columns)} features. Built by penta_core from a folder of MIDI and audio as a "
        "DVC-versioned dataset; this folder is that version's export."), "",
        "## Splits", "",
    ]
    present = [c for c in plan.classes if any(st.labels[c] for st in stats.values())]
    rows = [[label, *(stats[s].labels[label] for s in SPLITS)] for label in present]
    rows.append(["**total**", *(stats[s].count for s in SPLITS)])
    out += _table(["label", *(HUB_SPLITS[s] for s in SPLITS)], rows)
    origins = sorted({o for st in stats.values() for o, n in st.origins.items() if n})
    out += ["", "By origin:", ""]
    out += _table(["origin", *(HUB_SPLITS[s] for s in SPLITS)],
                  [[o, *(stats[s].origins[o] for s in SPLITS)] for o in origins])
    out += ["", "## Files", ""]
    file_rows = []
    exports = catalogue["exports"]
    if "parquet" in exports:
        audio = "FLAC bytes" if params["export"]["audio"] == "bytes" else "a path into the dataset folder"
        file_rows.append(["`<split>.parquet`", f"one row per sample; MIDI bytes, audio as {audio}",
                          "`datasets`, pandas, pyarrow; column reads, filtering, random access by row"])
    if "webdataset" in exports:
        counts = ", ".join(f"{HUB_SPLITS[s]} {len(exports['webdataset'][s]['files'])}" for s in SPLITS)
        file_rows.append(["`webdataset/<split>-NNNNNN.tar`",
                          f"`<id>.json`, `<id>.mid` or `<id>.flac`, `<id>.npy`; shards: {counts}",
                          "streaming training, many workers, object storage"])
    if "lmdb" in exports:
        file_rows.append(["`<split>.lmdb`", "key: sample id; value: the same parts as the WebDataset sample",
                          "random access by id, trainers that read LMDB"])
    file_rows.append(["`export.json`", "classes, feature columns, files with sha256, size and samples",
                      "checking a download; the penta_core loader"])
    out += _table(["file", "holds", "for"], file_rows)
    out += ["", "## Fields", ""]
    out += _table(["field", "meaning"], [
        ["`id`", ("sample id: imported, 16 hex digits of the content's sha256; augmented `<parent>_augNNN`; "
                 "synthetic `syn_<label>_NNNNN`")],
        ["`label`, `label_id`", f"the label and its index in: {', '.join(plan.classes)}"],
        ["`valence`, `arousal`", "the label's coordinates (−1 to 1)"],
        ["`group`", "split group: a piece, its variants and its near-duplicates; never in two splits"],
        ["`origin`, `parent`, `transform`", ("imported, augmented (from `parent`, with the values of "
                                            "`transform` applied) or synthetic")],
        ["`kind`", "`midi` or `audio`"],
        ["`sha256`", ("checksum of the sample's bytes in the version (audio not stored as FLAC is re-encoded "
                     "losslessly here, so its FLAC bytes hash differently)")],
        ["`features`, `features_status`", (f"{len(plan.columns)} float64 values (names in `export.json` and "
                                          "the Parquet metadata), or null when extraction failed")],
        ["`midi`, `audio`", "the sample's bytes (`audio` as `{bytes, path}`, the layout of `datasets.Audio`)"],
    ])
    out += ["", "## Loading", "", "```python", "from datasets import load_dataset", "",
            'ds = load_dataset("path/to/export")            # the splits named in this card\'s header']
    if "parquet" in exports:
        out += ['train = load_dataset("parquet", data_files={"train": "path/to/export/train.parquet"})["train"]',
                "", "import pyarrow.parquet as pq", "",
                'table = pq.read_table("path/to/export/train.parquet", columns=["id", "label", "features"])']
    out += ["", "# streaming batches, decoded, with a seeded shuffle and exactly-once worker shards",
            "from penta_core.training import SplitStream", "",
            'stream = SplitStream("path/to/export", "train", format="webdataset", seed=0)',
            "for sample, features, label in stream: ...", "```", ""]
    out += ["## How it was built", ""]
    per_origin = summary.get("per_origin", {})
    split = params["split"]
    built = [
        (f"- Imported: {per_origin.get('imported', 0)} files, deduplicated by content; "
        "invalid files quarantined with a reason."),
        ("- Labels: folder names mapped through the label vocabulary, then people's corrections from the "
        "annotation log."),
    ]
    offline = (manifest.get("augmentation") or {}).get("offline")
    if offline and offline.get("multiplier"):
        ranges = "; ".join(f"{kind}: " + ", ".join(f"`{k}` {_range(v)}" for k, v in offline[kind].items())
                           for kind in ("midi", "audio") if offline.get(kind))
        built.append(f"- Offline augmentation: {offline['multiplier']} variants per imported sample "
                     f"({per_origin.get('augmented', 0)} in the version), parameters drawn per variant from "
                     f"seed {offline['seed']} and the sample id and recorded in `transform`; {ranges}.")
    else:
        built.append("- Offline augmentation: none.")
    built.append(f"- Synthetic: {per_origin.get('synthetic', 0)} rule-based pieces."
                 if per_origin.get("synthetic") else "- Synthetic: none.")
    built += [
        (f"- Splits: {split['train']:g} / {split['val']:g} / {split['test']:g} by group ({split['strategy']}), "
        f"seed {params['seed']}; augmented variants {'are' if split['augmented_in_eval'] else 'are not'} "
        f"in validation and test, synthetic pieces {'are' if split['synthetic_in_eval'] else 'are not'}."),
        (f"- Near-duplicate families: {summary.get('families', 0)}; groups: {summary.get('groups', 0)}, "
        f"the largest {summary.get('largest_group', 0)} samples."),
        ("- Training-time augmentation (SpecAugment, Mixup, CutMix, reverb, compression, harmonic mixing) is "
        "not applied here: it belongs to the trainer (`penta_core.ml.training.augmentation`)."),
    ]
    out += built + ["", "## Known limits", ""]
    limits = []
    left_out = summary.get("total", 0) - total
    if left_out:
        limits.append(f"- {left_out} samples of the version are in no split (unlabelled, or variants and "
                      "synthetic pieces kept out of evaluation) and are not exported.")
    missing = sum(st.no_features for st in stats.values())
    if missing:
        limits.append(f"- {missing} exported samples have no features (extraction failed): `features` is null.")
    small = [f"{HUB_SPLITS[s]} {stats[s].count}" for s in ("val", "test") if stats[s].count < 30]
    if small:
        limits.append(f"- Small evaluation splits ({', '.join(small)} samples): one sample moves a score by "
                      "several points.")
    if summary.get("label_conflicts"):
        limits.append(f"- {summary['label_conflicts']} samples had duplicates in folders naming different labels.")
    if validation:
        limits.append(
            f"- Validation: balance {validation.get('balance_score', 0):.2f}, diversity "
            f"{validation.get('diversity_score', 0):.2f}, quality {validation.get('quality_score', 0):.2f} "
            f"({'valid' if validation.get('valid') else 'below a threshold'}).")
    if baseline.get("test"):
        test = baseline["test"]
        limits.append(f"- Baseline (random forest on the features): test accuracy {test.get('accuracy', 0):.2f}, "
                      f"macro-F1 {test.get('macro_f1', 0):.2f}; chance {baseline.get('chance_accuracy', 0):.2f}.")
    limits.append("- Labels from folder names are as good as the folders; synthetic pieces follow rules, "
                  "not performances.")
    out += limits + ["", "## Licence", "",
                     f"`{params['export']['license']}`: the samples keep the licences of their sources.", ""]
    return "\n".join(out)
