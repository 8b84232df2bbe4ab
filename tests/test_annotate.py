"""Annotation from folder names through the vocabulary, synonyms and conflicts included."""
from __future__ import annotations

import json

import pytest
from helpers import write_midi

from penta_core.annotate.labels import annotate, read_annotations
from penta_core.annotate.vocabulary import Vocabulary
from penta_core.core.errors import ConfigError
from penta_core.core.io import read_json
from penta_core.sources.importer import import_sources


@pytest.fixture(scope="module")
def vocab():
    return Vocabulary.load("emotionrecognizer")


@pytest.mark.parametrize(
    "folder, label",
    [("happy", "happy"), ("Joy", "happy"), ("Q1", "happy"), ("q-1", "happy"), ("sad", "sad"), ("Q3", "sad"),
     ("angry", "angry"), ("Q2", "angry"), ("calm", "calm"), ("Q4", "calm"), ("Relaxed", "calm"),
     ("tender", "tender"), ("fear", "fearful"), ("neutral", "neutral")],
)
def test_folder_names_and_synonyms_map_to_labels(vocab, folder, label):
    assert vocab.lookup(folder).name == label


def test_every_label_has_valence_and_arousal_in_range(vocab):
    assert {"happy", "sad", "angry", "calm"} <= set(vocab.labels)
    for label in vocab.labels.values():
        assert -1 <= label.valence <= 1 and -1 <= label.arousal <= 1
    assert vocab.labels["happy"].valence > 0 > vocab.labels["sad"].valence
    assert vocab.labels["angry"].arousal > 0 > vocab.labels["calm"].arousal


def test_innermost_naming_folder_wins(vocab):
    label, folder = vocab.label_for_path("sad/live_takes/Happy/x.mid")
    assert (label.name, folder) == ("happy", "Happy")
    label, folder = vocab.label_for_path("Q3/unsorted/x.mid")
    assert (label.name, folder) == ("sad", "Q3")


def test_unknown_folders_give_null_labels_counted_and_reported(tmp_path, layout, params, vocab):
    src = tmp_path / "src"
    write_midi(src / "happy" / "a.mid")
    write_midi(src / "misc" / "b.mid", pitches=(50,))
    write_midi(src / "misc" / "c.mid", pitches=(51,))
    write_midi(src / "top.mid", pitches=(52,))
    import_sources(src, layout, params)
    summary = annotate(layout, vocab)
    assert summary["labelled"] == 1 and summary["unlabelled"] == 3
    assert summary["unknown_folders"] == {"misc": 2, ".": 1}
    ids = {s["source"]: s["id"] for s in read_json(layout.index("imported"))["samples"]}
    lines = (layout.annotations_dir / "labels.jsonl").read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == sorted(ids.values())
    records = read_annotations(layout)
    assert read_json(layout.index("labels_present")) == {"labels": ["happy"]}  # what synthesize reads
    assert records[ids["misc/b.mid"]]["label"] is None
    happy = records[ids["happy/a.mid"]]
    assert (happy["label"], happy["valence"], happy["arousal"]) == ("happy", 0.8, 0.6)


def test_same_content_under_two_labels_is_a_recorded_conflict(tmp_path, layout, params, vocab):
    src = tmp_path / "src"
    write_midi(src / "happy" / "a.mid")
    (src / "sad").mkdir()
    (src / "sad" / "a_copy.mid").write_bytes((src / "happy" / "a.mid").read_bytes())
    import_sources(src, layout, params)
    summary = annotate(layout, vocab)
    assert summary["conflicts"] == 1
    (record,) = read_json(layout.index("annotated"))["annotations"].values()
    assert record["label"] is None and record["conflict"] == ["happy", "sad"]


def test_same_content_under_a_label_and_an_unknown_folder_keeps_the_label(tmp_path, layout, params, vocab):
    src = tmp_path / "src"
    write_midi(src / "calm" / "a.mid")
    (src / "inbox").mkdir()
    (src / "inbox" / "a.mid").write_bytes((src / "calm" / "a.mid").read_bytes())
    import_sources(src, layout, params)
    assert annotate(layout, vocab)["per_label"] == {"calm": 1}


def test_custom_vocabulary_file(tmp_path):
    custom = tmp_path / "vocab.yaml"
    custom.write_text("emotionrecognizer:\n  epic:\n    valence: 0.4\n    arousal: 0.9\n    synonyms: [heroic]\n")
    vocab = Vocabulary.load("emotionrecognizer", custom)
    assert vocab.lookup("Heroic").name == "epic" and vocab.lookup("happy") is None


def test_target_model_without_vocabulary_names_the_fix():
    with pytest.raises(ValueError, match=r"no labels for target model 'dynamicsengine'.*annotate.vocabulary"):
        Vocabulary.load("dynamicsengine")


def test_a_synonym_naming_two_labels_is_refused(tmp_path):
    with pytest.raises(ValueError, match="'joy' names both 'happy' and 'glad'"):
        Vocabulary.from_mapping({"happy": {"synonyms": ["joy"]}, "glad": {"synonyms": ["joy"]}})


@pytest.mark.parametrize("text, message", [
    ("emotionrecognizer: [unclosed\n", "is not valid YAML"),
    ("- just\n- a list\n", "must map target models to their labels"),
    ("emotionrecognizer:\n  happy: 0.8\n", "label 'happy' must map to valence, arousal and synonyms"),
])
def test_a_malformed_vocabulary_file_is_a_one_line_config_error_naming_it(tmp_path, text, message):
    custom = tmp_path / "vocab.yaml"
    custom.write_text(text)
    with pytest.raises(ConfigError, match=message) as err:
        Vocabulary.load("emotionrecognizer", custom)
    assert str(err.value).startswith(str(custom)) and "\n" not in str(err.value)
