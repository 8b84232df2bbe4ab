"""The augment stage: provenance, determinism, incremental runs, failures, multiplier 0."""
from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pretty_midi
import pytest
import yaml
from helpers import REPO, write_midi, write_tone

from penta_core.augment import variants as variants_module
from penta_core.augment.variants import augment_dataset, code_fingerprint, variant_stems
from penta_core.core.io import read_json, sha256_bytes, sha256_file, write_json
from penta_core.core.layout import DatasetLayout
from penta_core.core.params import resolve
from penta_core.store.access import sample_bytes

MIDI_KEYS = {"transpose_semitones", "duration_factor", "velocity_scale", "timing_jitter_ms", "note_dropout"}
AUDIO_KEYS = {"pitch_shift_semitones", "speed_factor", "noise_snr_db", "gain_db"}


# -- local fixtures -------------------------------------------------------------
def _midi(path: Path, pitches, program=0) -> Path:
    return write_midi(path, pitches, step=0.3, length=0.25, tempo=100, velocity=80, program=program)


SOURCES = {
    "raw/midi/happy/a.mid": lambda p: _midi(p, [60, 64, 67, 72] * 4),
    "raw/midi/happy/b.mid": lambda p: _midi(p, [62, 65, 69] * 5, program=40),
    "raw/midi/sad/c.mid": lambda p: _midi(p, [57, 60, 64, 55] * 3),
    "raw/audio/calm/d.wav": lambda p: write_tone(p, 330.0, seconds=0.5, amplitude=0.4),
}
MIDI_ONLY = ("raw/midi/happy/a.mid", "raw/midi/happy/b.mid", "raw/midi/sad/c.mid")


def add_sample(layout: DatasetLayout, rel: str, make=None) -> dict:
    """Write a raw file and record it in ``index/imported.json`` as the import stage would."""
    path = layout.abs(rel)
    (make or SOURCES[rel])(path)
    sha = sha256_file(path)
    sample = {"id": sha[:16], "path": rel, "kind": "audio" if "/audio/" in rel else "midi",
              "origin": "imported", "group": sha[:16], "sha256": sha, "source": rel.split("/", 2)[2]}
    index = read_json(layout.index("imported")) if layout.index("imported").exists() else {"samples": []}
    index["samples"] = sorted([s for s in index["samples"] if s["path"] != rel] + [sample], key=lambda s: s["id"])
    write_json(layout.index("imported"), index)
    return sample


def remove_sample(layout: DatasetLayout, rel: str) -> None:
    index = read_json(layout.index("imported"))
    index["samples"] = [s for s in index["samples"] if s["path"] != rel]
    write_json(layout.index("imported"), index)


def make_dataset(root: Path, rels=tuple(SOURCES)) -> DatasetLayout:
    layout = DatasetLayout(root)
    for rel in rels:
        add_sample(layout, rel)
    return layout


def params(multiplier=2, **augment):
    return resolve({"augment": {"multiplier": multiplier, "n_jobs": 1, **augment}})


def tree(layout: DatasetLayout) -> dict[str, str]:
    """sha256 of every output of the stage, by path."""
    files = {layout.rel(p): sha256_file(p) for p in layout.augmented_dir.rglob("*") if p.is_file()}
    files["index/augmented.json"] = sha256_file(layout.index("augmented"))
    return files


def variants(layout: DatasetLayout) -> dict[str, dict]:
    return {s["id"]: s for s in read_json(layout.index("augmented"))["samples"]}


def members(layout: DatasetLayout) -> list[str]:
    """Every member name in every shard catalogue of the stage's folder."""
    return sorted(m["name"] for sidecar in layout.augmented_dir.glob("*.json")
                  for m in read_json(sidecar)["members"])


def midi_notes(data: bytes):
    return pretty_midi.PrettyMIDI(io.BytesIO(data)).instruments[0].notes


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    layout = make_dataset(tmp_path_factory.mktemp("built") / "ds")
    report = augment_dataset(layout, params())
    return layout, report


# -- provenance -----------------------------------------------------------------
def test_every_parent_gets_multiplier_variants(built):
    layout, report = built
    parents = read_json(layout.index("imported"))["samples"]
    found = variants(layout)
    assert len(found) == 2 * len(parents)
    assert report["summary"] == {"multiplier": 2, "parents": 4, "augmented_parents": 4, "variants": 8,
                                 "per_kind": {"audio": 2, "midi": 6}, "shards": 2, "failed": 0}
    for parent in parents:
        assert {f"{parent['id']}_aug001", f"{parent['id']}_aug002"} <= found.keys()


def test_each_variant_records_parent_group_checksum_and_the_values_applied(built):
    layout, _ = built
    parents = {s["id"]: s for s in read_json(layout.index("imported"))["samples"]}
    for v in variants(layout).values():
        parent = parents[v["parent"]]
        assert v["origin"] == "augmented" and v["group"] == parent["group"] and v["kind"] == parent["kind"]
        assert v["sha256"] == sha256_bytes(sample_bytes(layout, v))
        assert "path" not in v and v["shard"].startswith(f"processed/augmented/{v['kind']}-")
        assert set(v["transform"]) == (MIDI_KEYS if v["kind"] == "midi" else AUDIO_KEYS)
        assert "label" not in v
        ranges = params()["augment"][v["kind"]]
        for name, value in v["transform"].items():
            if name not in ("transpose_semitones", "note_dropout", "gain_db", "duration_factor"):
                assert ranges[name][0] <= value <= ranges[name][1], name


def test_variants_keep_the_parents_folders_as_member_names(built):
    layout, _ = built
    names = sorted(v["member"] for v in variants(layout).values())
    assert "midi/happy/a_aug001.mid" in names
    assert "midi/sad/c_aug002.mid" in names
    assert "audio/calm/d_aug001.flac" in names
    assert members(layout) == names


def test_variants_are_packed_not_written_one_file_each(built):
    layout, _ = built
    files = sorted(p.name for p in layout.augmented_dir.rglob("*") if p.is_file())
    assert len(files) == 4 and {Path(f).suffix for f in files} == {".tar", ".json"}


def test_the_recorded_transform_is_what_the_file_holds(built):
    layout, _ = built
    v = variants(layout)
    parent = next(s for s in read_json(layout.index("imported"))["samples"] if s["path"].endswith("a.mid"))
    record = v[f"{parent['id']}_aug001"]
    old = midi_notes(layout.abs(parent["path"]).read_bytes())
    new = midi_notes(sample_bytes(layout, record))
    shift = record["transform"]["transpose_semitones"]
    assert {n.pitch for n in new} <= {n.pitch + shift for n in old}
    assert len(old) - len(new) == round(record["transform"]["note_dropout"] * len(old))


# -- determinism and incremental runs -------------------------------------------------
def test_two_clean_runs_write_identical_bytes(built, tmp_path):
    layout, _ = built
    again = make_dataset(tmp_path / "ds")
    augment_dataset(again, params(n_jobs=2))
    assert tree(again) == tree(layout)


def _recording_start_method(monkeypatch, force: str | None = None) -> list[str]:
    """Record the start method of every pool the stage opens (``force``: use that one instead)."""
    used: list[str] = []
    real = variants_module.parallel_map

    def spy(*args, start_method="spawn", **kwargs):
        used.append(start_method)
        return real(*args, start_method=force or start_method, **kwargs)

    monkeypatch.setattr(variants_module, "parallel_map", spy)
    return used


def test_midi_variants_are_made_in_forked_workers_and_audio_ones_in_spawned_workers(tmp_path, monkeypatch):
    used = _recording_start_method(monkeypatch)
    augment_dataset(make_dataset(tmp_path / "midi", rels=MIDI_ONLY), params(n_jobs=2))
    augment_dataset(make_dataset(tmp_path / "both"), params(n_jobs=2))
    assert used == ["fork", "fork", "spawn"]  # the mixed dataset: one pool per kind


def test_forked_workers_write_the_bytes_spawned_workers_write(tmp_path, monkeypatch):
    forked = make_dataset(tmp_path / "forked", rels=MIDI_ONLY)
    augment_dataset(forked, params(n_jobs=2))
    asked = _recording_start_method(monkeypatch, force="spawn")
    spawned = make_dataset(tmp_path / "spawned", rels=MIDI_ONLY)
    augment_dataset(spawned, params(n_jobs=2))
    assert asked == ["fork"]  # and spawn was used instead
    assert tree(forked) == tree(spawned)


def test_adding_a_parent_changes_no_other_variant_and_augments_only_it(tmp_path):
    layout = make_dataset(tmp_path / "ds", rels=("raw/midi/happy/a.mid", "raw/midi/happy/b.mid"))
    augment_dataset(layout, params())
    before = {k: v["sha256"] for k, v in variants(layout).items()}
    new = add_sample(layout, "raw/midi/sad/c.mid")
    report = augment_dataset(layout, params())
    assert report["regenerated_parents"] == [new["id"]]
    assert (report["generated"], report["reused"]) == (2, 4)
    assert {k: v["sha256"] for k, v in variants(layout).items() if k in before} == before
    clean = make_dataset(tmp_path / "clean", rels=MIDI_ONLY)
    augment_dataset(clean, params())
    assert tree(clean) == tree(layout)


def test_a_shard_whose_members_did_not_change_keeps_its_bytes(tmp_path, monkeypatch):
    # About one parent per shard, so a new parent lands in a shard of its own or joins one.
    monkeypatch.setitem(variants_module.SAMPLES_PER_SHARD, "midi", 2)
    layout = make_dataset(tmp_path / "ds", rels=("raw/midi/happy/a.mid", "raw/midi/happy/b.mid"))
    augment_dataset(layout, params())
    before = {p.name: (sha256_file(p), os.stat(p).st_mtime_ns) for p in layout.augmented_dir.glob("*.tar")}
    assert len(before) == 2
    new = add_sample(layout, "raw/midi/sad/c.mid")
    augment_dataset(layout, params())
    after = {p.name: (sha256_file(p), os.stat(p).st_mtime_ns) for p in layout.augmented_dir.glob("*.tar")}
    new_shards = {v["shard"].rsplit("/", 1)[1] for v in variants(layout).values() if v["parent"] == new["id"]}
    untouched = {name: seen for name, seen in before.items() if name not in new_shards}
    assert untouched and all(after[name] == seen for name, seen in untouched.items())
    clean = make_dataset(tmp_path / "clean", rels=MIDI_ONLY)
    augment_dataset(clean, params())
    assert tree(clean) == tree(layout)


def test_removing_a_parent_deletes_its_variants_and_ends_like_a_clean_run(tmp_path):
    layout = make_dataset(tmp_path / "ds", rels=MIDI_ONLY)
    augment_dataset(layout, params())
    remove_sample(layout, "raw/midi/happy/b.mid")
    report = augment_dataset(layout, params())
    assert report["generated"] == 0 and report["removed"] >= 1
    assert not [name for name in members(layout) if "b_aug" in name]
    clean = make_dataset(tmp_path / "clean", rels=[r for r in MIDI_ONLY if not r.endswith("b.mid")])
    augment_dataset(clean, params())
    assert tree(clean) == tree(layout)


def test_a_changed_parent_is_augmented_again(tmp_path):
    layout = make_dataset(tmp_path / "ds", rels=MIDI_ONLY)
    augment_dataset(layout, params())
    old = variants(layout)
    changed = add_sample(layout, "raw/midi/happy/a.mid", lambda p: _midi(p, [50, 52, 53, 55, 57]))
    report = augment_dataset(layout, params())
    new = variants(layout)
    assert report["regenerated_parents"] == [changed["id"]]
    assert new[f"{changed['id']}_aug001"]["member"] == "midi/happy/a_aug001.mid"
    gone = {k for k in old if k not in new}
    assert {old[k]["member"] for k in gone} == {"midi/happy/a_aug001.mid", "midi/happy/a_aug002.mid"}
    assert all(new[k]["sha256"] == old[k]["sha256"] for k in old if k in new)


def test_changing_midi_ranges_redoes_midi_variants_only(tmp_path):
    layout = make_dataset(tmp_path / "ds", rels=("raw/midi/happy/a.mid", "raw/audio/calm/d.wav"))
    augment_dataset(layout, params())
    midi = dict(params()["augment"]["midi"], velocity_scale=[0.5, 0.6])
    report = augment_dataset(layout, params(midi=midi))
    assert (report["generated"], report["reused"]) == (2, 2)
    assert all(0.5 <= v["transform"]["velocity_scale"] <= 0.6 for v in variants(layout).values() if v["kind"] == "midi")


def test_raising_the_multiplier_adds_variants_and_keeps_the_first_ones(tmp_path):
    layout = make_dataset(tmp_path / "ds", rels=("raw/midi/happy/a.mid",))
    augment_dataset(layout, params(multiplier=2))
    first = variants(layout)
    report = augment_dataset(layout, params(multiplier=3))
    assert (report["generated"], report["reused"]) == (1, 2)
    assert {k: v["sha256"] for k, v in variants(layout).items() if k in first} == \
        {k: v["sha256"] for k, v in first.items()}


def test_a_shard_edited_by_hand_is_made_again(tmp_path):
    layout = make_dataset(tmp_path / "ds", rels=("raw/midi/happy/a.mid",))
    augment_dataset(layout, params())
    expected = tree(layout)
    (shard,) = layout.augmented_dir.glob("*.tar")
    data = bytearray(shard.read_bytes())
    data[600] ^= 0xFF  # inside the first member's bytes
    shard.write_bytes(bytes(data))
    report = augment_dataset(layout, params())
    assert report["generated"] == 2 and tree(layout) == expected


def test_the_seed_decides_the_variants(tmp_path):
    layout = make_dataset(tmp_path / "ds", rels=("raw/midi/happy/a.mid",))
    augment_dataset(layout, params())
    first = variants(layout)
    augment_dataset(layout, resolve({"seed": 7, "augment": {"multiplier": 2, "n_jobs": 1}}))
    assert all(first[k]["sha256"] != v["sha256"] for k, v in variants(layout).items())


# -- switches and failures -------------------------------------------------------
def test_multiplier_zero_leaves_no_variants_but_writes_the_index(tmp_path):
    layout = make_dataset(tmp_path / "ds", rels=MIDI_ONLY)
    augment_dataset(layout, params())
    report = augment_dataset(layout, params(multiplier=0))
    index = read_json(layout.index("augmented"))
    assert index["samples"] == [] and index["failed"] == [] and report["summary"]["variants"] == 0
    assert not list(layout.augmented_dir.iterdir())


def test_a_parent_that_fails_is_recorded_and_the_others_go_on(tmp_path):
    layout = make_dataset(tmp_path / "ds", rels=("raw/midi/happy/a.mid",))
    broken = add_sample(layout, "raw/midi/happy/broken.mid",
                        lambda p: p.write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\x01\xe0MTrk\xff\xff"))
    report = augment_dataset(layout, params())
    index = read_json(layout.index("augmented"))
    assert [f["parent"] for f in index["failed"]] == [broken["id"]]
    assert index["failed"][0]["reason"] and report["summary"]["augmented_parents"] == 1
    assert len(index["samples"]) == 2 and not [name for name in members(layout) if "broken_aug" in name]


def test_a_parent_changed_since_import_is_refused(tmp_path):
    layout = make_dataset(tmp_path / "ds", rels=("raw/midi/happy/a.mid",))
    _midi(layout.abs("raw/midi/happy/a.mid"), [40, 41])  # not re-imported
    report = augment_dataset(layout, params())
    assert "changed since import" in report["failed"][0]["reason"]


def test_two_parents_that_would_share_a_variant_name_both_keep_theirs():
    samples = [{"id": "aaaa", "path": "raw/audio/calm/d.wav", "kind": "audio"},
               {"id": "bbbb", "path": "raw/audio/calm/d.flac", "kind": "audio"},
               {"id": "cccc", "path": "raw/audio/calm/e.wav", "kind": "audio"},
               {"id": "dddd", "path": "raw/midi/calm/d.mid", "kind": "midi"}]
    stems = variant_stems(samples)
    assert stems == {"aaaa": ("audio/calm", "d_aaaa"),
                     "bbbb": ("audio/calm", "d_bbbb"),
                     "cccc": ("audio/calm", "e"),
                     "dddd": ("midi/calm", "d")}


def test_a_bad_range_stops_the_stage_before_any_work(tmp_path):
    layout = make_dataset(tmp_path / "ds", rels=("raw/midi/happy/a.mid",))
    bad = params()
    bad["augment"]["audio"]["gain_db"] = [6.0, -6.0]
    with pytest.raises(ValueError, match="gain_db"):
        augment_dataset(layout, bad)
    assert not layout.index("augmented").exists()


def test_the_stage_script_runs_from_params_yaml(tmp_path):
    make_dataset(tmp_path / "datasets" / "demo", rels=("raw/midi/happy/a.mid",))
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({
        "dataset": {"name": "demo", "root": "datasets"}, "augment": {"multiplier": 1, "n_jobs": 1}}))
    done = subprocess.run([sys.executable, str(REPO / "stages" / "augment.py")], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "1 variants" in done.stdout
    (variant,) = read_json(tmp_path / "datasets/demo/index/augmented.json")["samples"]
    assert variant["member"] == "midi/happy/a_aug001.mid"
    assert (tmp_path / "datasets/demo" / variant["shard"]).is_file()


def test_midi_cache_keys_do_not_depend_on_audio_libraries():
    midi, audio = code_fingerprint("midi"), code_fingerprint("audio")
    assert "mido" in midi and "librosa" not in midi and "libsndfile" not in midi
    assert {"librosa", "soxr", "libsndfile"} <= audio.keys() and "mido" not in audio


def test_a_thousand_variants_or_more_are_planned_in_the_order_the_store_reads_them():
    # The store takes a parent's variants in id order: "_aug1000" comes before "_aug999".
    parents = [{"id": pid, "kind": "midi", "sha256": "0" * 64, "group": pid, "path": f"raw/midi/{pid}.mid"}
               for pid in ("a1", "b2")]
    planned = list(variants_module._plan(parents, "midi", 1001, {}, 0, variant_stems(parents)))
    assert len(planned) == 2002 and len({m.id for m in planned}) == 2002
    assert [(m.group, m.id) for m in planned] == sorted((m.group, m.id) for m in planned)
    ids = [m.id for m in planned]
    assert ids.index("a1_aug1000") < ids.index("a1_aug999") and ids[-1] == "b2_aug999"
