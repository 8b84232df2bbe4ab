"""split.strategy published: a corpus's own split (table, table per split, folders), families kept whole,
unlisted samples counted; split.families joins the samples a metadata table names alike."""
from __future__ import annotations

import json

import pytest

from penta_core.core.errors import ParamError
from penta_core.core.io import write_json
from penta_core.core.layout import DatasetLayout
from penta_core.core.params import resolve
from penta_core.recipes.registry import RECIPES
from penta_core.splits.assign import make_splits
from penta_core.splits.family_table import join_families, load_family_keys
from penta_core.splits.published import PublishedSplit, load_published
from penta_core.splits.stage import run as run_splits

SPLIT = {"train": 0.7, "val": 0.15, "test": 0.15, "strategy": "published", "group_by": None, "families": None,
         "published": {"folders": True}, "augmented_in_eval": False, "synthetic_in_eval": False}
FOLDERS = PublishedSplit("folders", folders={"train": "train", "validation": "val", "test": "test"})


def _sample(i: int, source: str, group: str | None = None, label: str = "happy") -> dict:
    sid = f"{i:016x}"
    return {"id": sid, "group": group or sid, "origin": "imported", "label": label, "sources": [source]}


def _where(result: dict) -> dict[str, str]:
    return {sid: name for name in ("train", "val", "test") for sid in result[name]}


def test_a_family_the_publisher_spread_goes_whole_to_its_majority():
    samples = [_sample(1, "train/a.mid", "g"), _sample(2, "train/b.mid", "g"), _sample(3, "test/c.mid", "g"),
               _sample(4, "test/d.mid")]
    result = make_splits(samples, SPLIT, seed=0, published=FOLDERS)
    assert _where(result) == {f"{i:016x}": s for i, s in ((1, "train"), (2, "train"), (3, "train"), (4, "test"))}
    report = result["published"]
    assert (report["families_moved"], report["samples_moved"], report["families_tied_to_eval"]) == (1, 1, 0)


@pytest.mark.parametrize("folders, expected", [
    (("train", "validation"), "val"),
    (("validation", "test"), "test"),
    (("train", "test"), "test"),
    (("train", "validation", "test"), "test"),
])
def test_a_tie_goes_to_the_evaluation_side(folders, expected):
    samples = [_sample(i, f"{folder}/x{i}.mid", "g") for i, folder in enumerate(folders)]
    result = make_splits(samples, SPLIT, seed=0, published=FOLDERS)
    assert set(_where(result).values()) == {expected}
    assert result["published"]["families_tied_to_eval"] == 1


def test_augmented_variants_follow_their_family_and_stay_out_of_eval():
    samples = [_sample(1, "test/a.mid"), _sample(2, "train/b.mid")]
    samples += [{"id": f"{s['id']}_aug001", "group": s["group"], "origin": "augmented", "parent": s["id"],
                 "label": "happy"} for s in list(samples)]
    result = make_splits(samples, SPLIT, seed=0, published=FOLDERS)
    assert result["test"] == [f"{1:016x}"]
    assert result["train"] == sorted([f"{2:016x}", f"{2:016x}_aug001"])
    assert result["excluded"]["augmented_of_eval_groups"] == 1
    assert result["published"]["unlisted"]["samples"] == 0  # variants are never counted as unlisted


def test_unlisted_samples_follow_their_family_else_are_seeded():
    samples = [_sample(1, "test/a.mid", "g"), _sample(2, "elsewhere/b.mid", "g")]
    samples += [_sample(10 + i, f"omitted/u{i}.mid") for i in range(40)]
    result = make_splits(samples, SPLIT, seed=3, published=FOLDERS)
    where = _where(result)
    assert where[f"{2:016x}"] == "test"  # follows its family
    unlisted = result["published"]["unlisted"]
    assert unlisted == {"policy": "seeded", "samples": 41, "following_their_family": 1, "families": 40,
                        "seeded": 40}
    seeded = [where[f"{10 + i:016x}"] for i in range(40)]
    # Placed among themselves at the ratios (0.7/0.15/0.15 of 40), within the balanced strategy's one group.
    assert [abs(seeded.count(n) - want) <= 1 for n, want in (("train", 28), ("val", 6), ("test", 6))] == [True] * 3


def test_unlisted_families_can_be_excluded_and_are_counted():
    params = dict(SPLIT, published={"folders": True, "unlisted": "exclude"})
    samples = [_sample(1, "test/a.mid"), _sample(2, "omitted/b.mid"), _sample(3, "omitted/c.mid")]
    result = make_splits(samples, params, seed=0, published=FOLDERS)
    assert _where(result) == {f"{1:016x}": "test"}
    assert result["excluded"]["unlisted"] == 2
    assert result["published"]["unlisted"]["excluded"] == 2


def test_a_table_maps_published_names_and_drops_a_file_listed_twice_differently(tmp_path):
    (tmp_path / "meta.csv").write_text("file,split\na.mid,train\nb.mid,validation\nc.mid,TEST\n"
                                       "d.mid,holdout\ne.mid,train\ne.mid,test\n")
    published = load_published({"table": "meta.csv", "file_column": "file", "split_column": "split"}, tmp_path)
    assert published.by_key == {"a.mid": "train", "b.mid": "val", "c.mid": "test"}
    assert (published.unknown_values, published.ambiguous) == ({"holdout": 1}, 1)
    assert published.split_of("src/deep/b.mid") == "val" and published.split_of("src/d.mid") is None


def test_per_split_tables_each_name_their_split(tmp_path):
    for name in ("train", "val", "test"):
        (tmp_path / f"{name}.tsv").write_text(f"clip\n{name}_clip\n")
    spec = {"tables": {n: f"{n}.tsv" for n in ("train", "val", "test")}, "file_column": "clip"}
    published = load_published(spec, tmp_path)
    assert published.by_key == {"train_clip": "train", "val_clip": "val", "test_clip": "test"}
    assert published.split_of("x/val_clip.mid") == "val"


def test_a_missing_split_column_fails_naming_it(tmp_path):
    (tmp_path / "meta.csv").write_text("file,fold\na.mid,1\n")
    with pytest.raises(Exception, match=r"split.published: .*meta.csv has no column split"):
        load_published({"table": "meta.csv", "file_column": "file", "split_column": "split"}, tmp_path)


def test_a_family_table_joins_the_samples_its_key_columns_name_alike(tmp_path):
    (tmp_path / "m.csv").write_text("canonical_composer,canonical_title,midi_filename\n"
                                    "Bach,Fugue,2004/p1.midi\nBach,Fugue,2006/p2.midi\nBach,Prelude,2004/p3.midi\n")
    keys, table, rows = load_family_keys({"table": "*.csv", "file_column": "midi_filename",
                                          "key_columns": ["canonical_composer", "canonical_title"]}, tmp_path)
    assert (table, rows, keys["2006/p2.midi"]) == ("m.csv", 3, "Bach / Fugue")
    samples = [_sample(1, "maestro/2004/p1.midi"), _sample(2, "maestro/2006/p2.midi"),
               _sample(3, "maestro/2004/p3.midi"),
               {"id": "v", "group": f"{2:016x}", "origin": "augmented", "parent": f"{2:016x}", "label": "happy"}]
    groups, counts = join_families(samples, keys)
    assert groups[f"{1:016x}"] == groups[f"{2:016x}"] == groups["v"] != groups[f"{3:016x}"]
    assert counts == {"samples_named": 3, "families": 2, "families_of_several": 1, "groups_joined": 1}


# --- the recipes: their published layouts, built here --------------------------------------------------------

def _maestro(src):
    (src / "maestro-v3.0.0").mkdir(parents=True)
    (src / "maestro-v3.0.0/maestro-v3.0.0.csv").write_text(
        "canonical_composer,canonical_title,split,year,midi_filename,audio_filename\n"
        "Bach,Fugue,train,2004,2004/p1.midi,2004/p1.wav\nBach,Fugue,test,2006,2006/p2.midi,2006/p2.wav\n"
        "Liszt,Etude,validation,2004,2004/p3.midi,2004/p3.wav\nChopin,Waltz,train,2008,2008/p4.midi,2008/p4.wav\n")
    files = ["maestro-v3.0.0/2004/p1.midi", "maestro-v3.0.0/2006/p2.midi", "maestro-v3.0.0/2004/p3.midi",
             "maestro-v3.0.0/2008/p4.midi", "maestro-v3.0.0/2004/p3.wav"]
    # p1 and p2 are one piece (the family table): split 1 train / 1 test, a tie, so both go to test.
    return files, ["test", "test", "val", "train", "val"]


def _groove(src):
    (src / "groove").mkdir(parents=True)
    (src / "groove/info.csv").write_text(
        "drummer,session,id,style,bpm,beat_type,time_signature,midi_filename,audio_filename,duration,split\n"
        "drummer1,drummer1/s1,d1/s1/1,funk,80,beat,4-4,drummer1/s1/1_funk_80_beat_4-4.mid,,3.0,train\n"
        "drummer1,drummer1/eval_session,d1/e/1,rock,90,beat,4-4,drummer1/eval_session/1_rock_90_beat_4-4.mid,"
        "drummer1/eval_session/1_rock_90_beat_4-4.wav,3.0,validation\n"
        "drummer2,drummer2/s9,d2/s9/1,jazz,120,fill,4-4,drummer2/s9/1_jazz_120_fill_4-4.mid,,1.0,test\n")
    return (["groove/drummer1/s1/1_funk_80_beat_4-4.mid", "groove/drummer1/eval_session/1_rock_90_beat_4-4.mid",
             "groove/drummer1/eval_session/1_rock_90_beat_4-4.wav", "groove/drummer2/s9/1_jazz_120_fill_4-4.mid"],
            ["train", "val", "val", "test"])


def _slakh(src):
    files = [f"slakh2100_flac_redux/{f}" for f in ("train/Track00001/all_src.mid", "validation/Track00002/all_src.mid",
                                                   "test/Track00003/all_src.mid", "test/Track00003/MIDI/S00.mid")]
    return files, ["train", "val", "test", "test"]


def _emopia(src):
    (src / "EMOPIA_1.0/split").mkdir(parents=True)
    for name, clips in (("train", ["Q1_a_0", "Q1_a_1"]), ("val", ["Q2_b_0"]), ("test", ["Q3_c_0"])):
        (src / f"EMOPIA_1.0/split/{name}_clip.csv").write_text(
            ",songID,clip_name\n" + "".join(f"{i},{c[3]},{c}.mid\n" for i, c in enumerate(clips)))
    files = ["EMOPIA_1.0/midis/Q1_a_0.mid", "EMOPIA_1.0/midis/Q1_a_1.mid", "EMOPIA_1.0/midis/Q2_b_0.mid",
             "EMOPIA_1.0/midis/Q3_c_0.mid"]
    return files, ["train", "train", "val", "test"]


@pytest.mark.parametrize("name, build", [("maestro", _maestro), ("groove", _groove), ("slakh", _slakh),
                                         ("emopia", _emopia)])
def test_a_recipe_fills_split_published_and_the_stage_follows_it(tmp_path, name, build):
    src = tmp_path / "src"
    files, expected = build(src)
    params = resolve({"dataset": {"name": "ds", "root": str(tmp_path / "datasets"), "source_dir": str(src),
                                  "recipe": name}, "split": {"strategy": "published"}})
    assert params["split"]["published"] == RECIPES[name].published
    layout = DatasetLayout.from_params(params)
    samples = [_sample(i, f) for i, f in enumerate(files)]
    write_json(layout.manifest, {"samples": samples})
    lines = run_splits(params, layout)
    got = {name: (layout.splits_dir / f"{name}.txt").read_text().split() for name in ("train", "val", "test")}
    where = {sid: split for split, ids in got.items() for sid in ids}
    assert [where[s["id"]] for s in samples] == expected
    metrics = json.loads((layout.metrics_dir / "splits.json").read_text())
    assert metrics["strategy"] == "published"
    assert metrics["samples_per_split"] == {n: expected.count(n) for n in ("train", "val", "test")}
    assert metrics["published"]["listed_samples"] == len(files)
    assert metrics["published"]["unlisted"]["samples"] == 0
    if name == "maestro":
        assert metrics["families_table"]["groups_joined"] == 2  # p1 with p2; p3.midi with p3.wav
        assert metrics["published"]["families_moved"] == 1 and metrics["published"]["families_tied_to_eval"] == 1
    assert any(line.startswith("published split (") for line in lines)


def test_recipes_without_a_published_split_say_so():
    assert RECIPES["vgmidi"].published is None and RECIPES["pop909"].published is None
    with pytest.raises(ParamError, match=r"'split.strategy' published needs 'split.published'.*recipe vgmidi"):
        resolve({"dataset": {"recipe": "vgmidi"}, "split": {"strategy": "published"}})


def test_what_the_user_writes_wins_over_the_recipes_published_split():
    mine = {"folders": True}
    params = resolve({"dataset": {"recipe": "maestro"}, "split": {"published": mine, "families": None}})
    assert params["split"]["published"] == mine
    assert params["split"]["families"]["key_columns"] == ["canonical_composer", "canonical_title"]


@pytest.mark.parametrize("split, message", [
    ({"strategy": "published"}, r"'split.strategy' published needs 'split.published'"),
    ({"published": {"table": "a.csv", "folders": True}}, r"'split.published' needs exactly one of table, tables"),
    ({"published": {"table": "a.csv", "file_column": "f"}}, r"'split.published.split_column' is required"),
    ({"published": {"tables": {"train": "a.csv", "dev": "b.csv"}, "file_column": "f"}},
     r"'split.published.tables' must be a mapping of train, val, test"),
    ({"published": {"folders": True, "values": {"validation": "valid"}}}, r"'split.published.values' must be"),
    ({"published": {"folders": True, "unlisted": "drop"}}, r"'split.published.unlisted' must be one of seeded"),
    ({"published": {"folders": True, "colour": 1}}, r"unknown key 'split.published.colour'"),
    ({"families": {"table": "a.csv", "file_column": "f"}}, r"'split.families.key_columns' is required"),
    ({"families": {"table": "https://x/a.csv", "file_column": "f", "key_columns": ["k"]}},
     r"'split.families.table' must be a table's path"),
])
def test_split_params_errors_name_the_key(split, message):
    with pytest.raises(ParamError, match=message):
        resolve({"split": split})
