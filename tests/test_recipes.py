"""One contract over every dataset recipe: a small archive in its published layout fetches, imports,
labels and groups as the recipe declares (archives built here, never downloaded)."""
from __future__ import annotations

import json
from fnmatch import fnmatch

import pytest
from fetch_helpers import make_zip, midi_bytes, sha256

from penta_core.annotate.stage import run as run_annotate
from penta_core.core.errors import ParamError
from penta_core.core.layout import DatasetLayout
from penta_core.core.params import resolve
from penta_core.fetch.sources import fetch_sources
from penta_core.recipes.registry import RECIPES
from penta_core.sources.stage import run as run_import
from penta_core.splits.groups import assign_groups

# Per recipe: the music files of a tiny archive in the published layout, its other files, the labels the
# recipe must give (file name → label) and the files that must share a family.
LAYOUTS = {
    "emopia": ({"EMOPIA_1.0/midis/Q1__8v0MFBZoco_0.mid": 60, "EMOPIA_1.0/midis/Q1__8v0MFBZoco_1.mid": 62,
                "EMOPIA_1.0/midis/Q3_abc_0.mid": 50},
               {"EMOPIA_1.0/label.csv": "ID,4Q,annotator\nQ1__8v0MFBZoco_0,1,a\nQ1__8v0MFBZoco_1,1,a\nQ3_abc_0,3,b\n",
                "EMOPIA_1.0/split/train_clip.csv": "clip_name\nQ1__8v0MFBZoco_0\n"},
               {"Q1__8v0MFBZoco_0.mid": "happy", "Q1__8v0MFBZoco_1.mid": "happy", "Q3_abc_0.mid": "sad"},
               [{"Q1__8v0MFBZoco_0.mid", "Q1__8v0MFBZoco_1.mid"}]),
    "vgmidi": ({"vgmidi-master/labelled/midi/Banjo_0.mid": 60, "vgmidi-master/labelled/midi/Zelda_1.mid": 52},
               {"vgmidi-master/vgmidi_labelled.csv": "id,series,console,game,piece,midi,valence,arousal\n"
                "0,B,N64,B,Igloo,labelled/midi/Banjo_0.mid,1,-1\n1,Z,NES,Z,Castle,labelled/midi/Zelda_1.mid,-1,1\n"},
               {"Banjo_0.mid": "calm", "Zelda_1.mid": "angry"}, []),
    "pop909": ({"POP909-Dataset-master/POP909/001/001.mid": 60,
                "POP909-Dataset-master/POP909/001/versions/001-v1.mid": 61,
                "POP909-Dataset-master/POP909/002/002.mid": 70},
               {"POP909-Dataset-master/POP909/001/chord_midi.txt": "0.0\t2.0\tC:maj\n"},
               {}, [{"001.mid", "001-v1.mid"}]),
    "groove": ({"groove/drummer1/session1/1_funk_80_beat_4-4.mid": 36,
                "groove/drummer1/session1/2_funk_80_fill_4-4.mid": 38,
                "groove/drummer2/session1/1_rock_100_beat_4-4.mid": 42},
               {"groove/info.csv": "drummer,session,id,style,bpm,beat_type,time_signature,midi_filename,"
                "audio_filename,duration,split\n"},
               {}, [{"1_funk_80_beat_4-4.mid", "2_funk_80_fill_4-4.mid"}]),
    "slakh": ({"slakh2100_flac_redux/train/Track00001/all_src.mid": 60,
               "slakh2100_flac_redux/train/Track00001/MIDI/S00.mid": 64,
               "slakh2100_flac_redux/test/Track00002/all_src.mid": 67,
               "slakh2100_flac_redux/test/Track00002/MIDI/S00.mid": 71},
              {}, {}, [{"train/Track00001/all_src.mid", "train/Track00001/MIDI/S00.mid"},
                       {"test/Track00002/all_src.mid", "test/Track00002/MIDI/S00.mid"}]),
    "maestro": ({"maestro-v3.0.0/2018/MIDI-Unprocessed_01.midi": 60,
                 "maestro-v3.0.0/2018/MIDI-Unprocessed_02.midi": 65},
                {"maestro-v3.0.0/maestro-v3.0.0.csv": "canonical_composer,canonical_title,split,year,midi_filename\n"},
                {}, []),
}


def test_every_recipe_has_a_layout_in_the_contract():
    assert sorted(LAYOUTS) == sorted(RECIPES)


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_recipe_contract(tmp_path, name):
    recipe = RECIPES[name]
    music, others, labels, families = LAYOUTS[name]
    members = {path: midi_bytes(tmp_path, pitch) for path, pitch in music.items()}
    members.update({path: text.encode() for path, text in others.items()})
    assert all(any(fnmatch(m, pattern) for m in members) for pattern in recipe.layout), "layout globs"
    archive = make_zip(tmp_path / "up" / f"{name}.zip", members)
    params = resolve({"dataset": {"name": "ds", "root": str(tmp_path / "datasets"), "recipe": name,
                                  "source": {"url": str(archive), "sha256": sha256(archive)}},
                      "import": {"n_jobs": 1}})
    assert params["export"]["license"] == recipe.licence
    assert params["split"]["group_by"] == recipe.group_by
    layout = DatasetLayout.from_params(params)
    fetch_sources(params, layout)
    run_import(params, layout)
    samples = json.loads(layout.index("imported").read_text())["samples"]
    assert len(samples) == len(music)

    run_annotate(params, layout)
    records = json.loads(layout.index("annotated").read_text())["annotations"]
    got = {r["sources"][0].rpartition("/")[2]: r["label"] for r in records.values() if r["label"]}
    assert got == labels

    groups = assign_groups(samples, params["split"]["group_by"])
    by_source = {s["source"]: groups[s["id"]] for s in samples}
    for family in families:
        joined = {g for src, g in by_source.items() if any(src.endswith(f) for f in family)}
        assert len(joined) == 1, f"{name}: {family} not one family"
    assert len(set(groups.values())) == len(samples) - sum(len(f) - 1 for f in families)


def test_what_the_user_writes_wins_over_the_recipe():
    params = resolve({"dataset": {"recipe": "emopia"}, "split": {"group_by": "(x)"}, "export": {"license": "mit"}})
    assert (params["split"]["group_by"], params["export"]["license"]) == ("(x)", "mit")
    assert params["annotate"]["labels"]["label_column"] == "4Q"


def test_an_unknown_recipe_fails_naming_the_known_ones():
    with pytest.raises(ParamError, match=r"'dataset\.recipe' must be one of emopia, vgmidi, pop909"):
        resolve({"dataset": {"recipe": "lakh"}})
