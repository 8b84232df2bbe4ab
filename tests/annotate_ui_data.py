"""A small built dataset version for the annotation page's tests: real import, annotate and manifest steps."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from helpers import write_midi, write_tone

from penta_core.annotate.labels import annotate
from penta_core.annotate.vocabulary import Vocabulary
from penta_core.baseline.predictions import Prediction, write_predictions
from penta_core.core.io import read_json, write_json
from penta_core.core.layout import DatasetLayout
from penta_core.core.params import resolve
from penta_core.features.parts import FeatureRows, write_parts
from penta_core.manifest.build import build_manifest
from penta_core.sources.importer import import_sources
from penta_core.splits.lists import write_splits


def build_version(base: Path) -> tuple[dict, DatasetLayout, dict[str, str]]:
    """A version under ``base`` with a conflict, an unlabelled sample, a disagreement and agreeing samples.

    Returns
    -------
    params, layout, and source name (``"happy/a.mid"``) → sample id.
    """
    src = base / "src"
    write_midi(src / "happy" / "a.mid", pitches=(60, 64, 67, 72), step=0.4)
    write_midi(src / "happy" / "b.mid", pitches=(62, 66, 69, 74), step=0.3)
    write_midi(src / "sad" / "c.mid", pitches=(57, 60, 64), step=0.8)
    write_midi(src / "sad" / "d.mid", pitches=(55, 58, 62), step=0.9)
    write_midi(src / "inbox" / "e.mid", pitches=(65, 69, 72), step=0.5)
    write_midi(src / "happy" / "f.mid", pitches=(48, 52, 55, 59), step=0.5)
    (src / "sad").mkdir(exist_ok=True)
    (src / "sad" / "f_copy.mid").write_bytes((src / "happy" / "f.mid").read_bytes())
    write_tone(src / "calm" / "tone.wav", freq=330.0, seconds=3.0)
    params = resolve({
        "dataset": {"name": "ui_ds", "root": str(base / "datasets"), "source_dir": str(src)},
        "import": {"n_jobs": 1},
        "annotate": {"events": str(base / "annotations" / "events.jsonl")},
    })
    layout = DatasetLayout.from_params(params)
    import_sources(src, layout, params)
    vocab = Vocabulary.load("emotionrecognizer")
    annotate(layout, vocab, params["annotate"]["events"])
    build_manifest(layout, params)
    ids = {s["source"]: s["id"] for s in read_json(layout.index("imported"))["samples"]}
    labelled = sorted(i for i in ids.values() if i not in (ids["inbox/e.mid"], ids["happy/f.mid"]))
    write_splits(layout, {"train": labelled[:-1], "val": labelled[-1:], "test": []})
    guesses = {  # the baseline's say: sure that b is sad, unsure about c, sure about the rest
        "happy/a.mid": ("happy", 0.9), "happy/b.mid": ("sad", 0.8), "sad/c.mid": ("sad", 0.4),
        "sad/d.mid": ("sad", 0.7), "inbox/e.mid": ("calm", 0.5), "calm/tone.wav": ("calm", 0.6),
    }
    label_of = {s["id"]: s["label"] for s in read_json(layout.manifest)["samples"]}
    write_predictions(layout, [Prediction(ids[name], "train", label_of[ids[name]] or "", p, c, "oob")
                               for name, (p, c) in sorted(guesses.items(), key=lambda kv: ids[kv[0]])])
    ordered = sorted(ids.values())
    columns = ["duration_s", "tempo_bpm", "key_tonic", "mode_minor", "key_confidence"]
    rows = [[1.5 + n, 80.0 + 15 * n, (2 * n) % 12, n % 2, 0.6] for n in range(len(ordered))]
    n = len(ordered)
    write_parts(layout.features_dir, FeatureRows(ordered, ordered, ["midi"] * n, ["0" * 64] * n, ["test"] * n,
                                                 [[] for _ in ordered], ["major"] * n, ["{}"] * n, tuple(columns),
                                                 np.array(rows, dtype=np.float64)))
    write_json(layout.index("features"), {"columns": columns, "samples": {}, "summary": {}})
    write_json(layout.metrics_dir / "baseline.json", {"trained": True, "test": {"confusion": {
        "happy": {"happy": 2, "sad": 1}, "sad": {"happy": 0, "sad": 3}}}})
    return params, layout, ids
