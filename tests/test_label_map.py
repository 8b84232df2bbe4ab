"""Labels from a table beside the data: matched by path, name or stem, applied before folder names."""
from __future__ import annotations

import json

import pytest

from penta_core.annotate.label_map import labels_path, load_label_map, va_label
from penta_core.annotate.labels import annotate
from penta_core.annotate.vocabulary import Vocabulary
from penta_core.core.errors import ConfigError, ParamError
from penta_core.core.io import write_json
from penta_core.core.params import resolve

VOCAB = Vocabulary.load("emotionrecognizer")


def _table(tmp_path, text, name="labels.csv", **spec):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return load_label_map({"path": name, **spec}, path, VOCAB)


def _imported(layout, *sources):
    samples = [{"id": f"{i:016x}", "sources": list(s) if isinstance(s, tuple) else [s]} for i, s in enumerate(sources)]
    for sample in samples:
        sample["source"] = sample["sources"][0]
    write_json(layout.index("imported"), {"samples": samples})
    return samples


def test_a_row_finds_its_file_by_relative_path_name_or_stem(tmp_path):
    table = _table(tmp_path, "file,emotion\nmidi/a.mid,happy\nb.mid,sad\nc,calm\n", label_column="emotion")
    assert table.lookup("set/midi/a.mid").label.name == "happy"
    assert table.lookup("set/other/b.mid").label.name == "sad"
    assert table.lookup("set/x/c.mid").label.name == "calm"
    assert table.lookup("set/other/a.mid") is None  # midi/a.mid names only the one under midi/


def test_label_values_go_through_the_vocabulary_synonyms(tmp_path):
    table = _table(tmp_path, "ID,4Q\nclip_0,Q1\nclip_1,q3\nclip_2,meh\n", file_column="ID", label_column="4Q")
    assert [table.lookup(f"e/clip_{i}.mid") and table.lookup(f"e/clip_{i}.mid").label.name for i in range(3)] == \
        ["happy", "sad", None]
    assert table.unknown_values == {"meh": 1}


def test_valence_arousal_map_to_the_quadrant_label(tmp_path):
    table = _table(tmp_path, "midi\tv\ta\na.mid\t0.4\t-0.9\nb.mid\t-0.2\t0.3\n", name="l.tsv", file_column="midi",
                   valence_column="v", arousal_column="a")
    a, b = table.lookup("x/a.mid"), table.lookup("x/b.mid")
    assert (a.label.name, a.valence, a.arousal) == ("calm", 0.4, -0.9)
    assert b.label.name == "angry"


def test_nearest_mapping_picks_the_closest_label_in_valence_arousal_space():
    assert va_label(0.6, -0.25, VOCAB, "nearest").name == "tender"
    assert va_label(0.6, -0.25, VOCAB, "quadrant").name == "calm"


def test_a_json_list_of_objects_is_a_table(tmp_path):
    table = _table(tmp_path, json.dumps([{"file": "a.mid", "mood": "joy"}]), name="l.json", label_column="mood")
    assert table.lookup("a.mid").label.name == "happy"


def test_a_file_two_rows_label_differently_is_dropped_and_counted(tmp_path):
    table = _table(tmp_path, "file,e\na.mid,happy\na.mid,sad\nb.mid,calm\nb.mid,calm\n", label_column="e")
    assert table.lookup("a.mid") is None and table.lookup("b.mid").label.name == "calm"
    assert table.ambiguous == 1


def test_a_missing_column_names_the_columns_there_are(tmp_path):
    with pytest.raises(ConfigError, match=r"has no column emotion \(it has file, mood\)"):
        _table(tmp_path, "file,mood\na.mid,happy\n", label_column="emotion")


def test_a_valence_that_is_not_a_number_names_the_row(tmp_path):
    with pytest.raises(ConfigError, match="row 3: valence/arousal 'high'"):
        _table(tmp_path, "file,v,a\na.mid,1,1\nb.mid,high,1\n", valence_column="v", arousal_column="a")


def test_the_table_wins_over_folders_which_label_the_rest(tmp_path, layout):
    _imported(layout, "happy/a.mid", "sad/b.mid", "calm/c.mid")
    table = _table(tmp_path, "file,e\na,angry\n", label_column="e")
    summary = annotate(layout, VOCAB, None, table)
    records = json.loads(layout.index("annotated").read_text())["annotations"]
    got = {r["sources"][0]: (r["label"], r["label_source"]) for r in records.values()}
    assert got == {"happy/a.mid": ("angry", "labels_file"), "sad/b.mid": ("sad", "folder"),
                   "calm/c.mid": ("calm", "folder")}
    assert summary["labels_file"]["labelled"] == 1


def test_duplicates_the_table_labels_differently_are_a_conflict(tmp_path, layout):
    _imported(layout, ("x/a.mid", "y/b.mid"))
    table = _table(tmp_path, "file,e\na,happy\nb,sad\n", label_column="e")
    annotate(layout, VOCAB, None, table)
    (record,) = json.loads(layout.index("annotated").read_text())["annotations"].values()
    assert record["label"] is None and record["conflict"] == ["happy", "sad"]


def test_without_a_table_the_index_is_what_it_was(layout):
    _imported(layout, "happy/a.mid")
    summary = annotate(layout, VOCAB, None)
    assert "labels_file" not in summary


def test_a_relative_labels_path_is_looked_up_in_the_imported_folder_first(tmp_path, params, layout):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "labels.csv").write_text("file,e\n")
    assert labels_path({"path": "labels.csv"}, params, layout) == tmp_path / "src" / "labels.csv"
    with pytest.raises(ConfigError, match=r"'nowhere\.csv' is neither in"):
        labels_path({"path": "nowhere.csv"}, params, layout)


@pytest.mark.parametrize("labels, message", [
    ({"path": "l.csv"}, "needs either label_column or valence_column and arousal_column"),
    ({"path": "l.csv", "label_column": "e", "valence_column": "v"}, "needs either label_column"),
    ({"path": "l.csv", "valence_column": "v"}, "needs both valence_column and arousal_column"),
    ({"path": "l.csv", "label_column": "e", "colour": "x"}, "unknown key 'annotate.labels.colour'"),
    ({"path": "https://x.org/l.csv", "label_column": "e"}, "sha256' is required for a downloaded labels file"),
    ({"path": "l.csv", "label_column": "e", "va_mapping": "closest"}, "va_mapping' must be one of quadrant"),
])
def test_a_bad_labels_entry_fails_at_the_params(labels, message):
    with pytest.raises(ParamError, match=message):
        resolve({"annotate": {"labels": labels}})
