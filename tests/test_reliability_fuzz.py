"""Fuzzed hostile input: every mutated MIDI or audio file ends imported or quarantined with a reason.

Hypothesis runs derandomized with a bounded number of examples, so CI sees the
same cases every time. Each example is a batch of files imported in one call
(each import starts worker processes, the expensive part).
"""
from __future__ import annotations

import io
import json
import math
import struct
import subprocess
import sys
import tempfile
import time
from functools import cache
from pathlib import Path

import mido
import numpy as np
import pytest
import soundfile as sf
from helpers import REPO, tree_digest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from reliability_helpers import (
    NASTY_FRAGMENTS,
    Hang,
    flip_bits,
    insert_in_first_track,
    many_tracks,
    mthd,
    one_line_reason,
    set_chunk_length,
    set_track_count,
    temp_files,
    time_limit,
    track_from_fragments,
    truncate,
)

from penta_core.augment.variants import augment_dataset
from penta_core.core.io import read_json, sha256_bytes
from penta_core.core.layout import DatasetLayout
from penta_core.core.params import resolve
from penta_core.features.extract import extract_features
from penta_core.sources.importer import import_sources

pytestmark = pytest.mark.slow

TIMEOUT_S = 10.0  # import.timeout_s in these tests: a hang costs this, not forever
FUZZ = settings(
    # No shrinking: each example starts worker processes, and a recipe is already readable.
    derandomize=True, database=None, deadline=None, print_blob=False, phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _real_midi_paths() -> list[Path]:
    paths = sorted((REPO / "datasets" / "examples").rglob("*.mid"))
    try:
        import music21
        paths += sorted(Path(music21.__file__).parent.glob("midi/testPrimitive/*.mid"))
    except ImportError:
        pass
    return paths


REAL_MIDI = [p.read_bytes() for p in _real_midi_paths()]
PRISTINE = REAL_MIDI[0]


@cache
def _mido_variant(base: int, how: str) -> bytes:
    """A real file rewritten by mido with one musical absurdity (delta times kept consistent)."""
    midi = mido.MidiFile(file=io.BytesIO(REAL_MIDI[base]))
    for track in midi.tracks:
        carried, kept = 0, []
        for msg in track:
            drop = how == "no_note_off" and (
                msg.type == "note_off" or (msg.type == "note_on" and msg.velocity == 0))
            if drop:
                carried += msg.time
                continue
            if how in ("tempo_zero", "tempo_absurd") and msg.type == "set_tempo":
                msg = msg.copy(tempo=0 if how == "tempo_zero" else 0xFFFFFF)
            if how == "huge_delta" and msg.type in ("note_on", "note_off"):
                msg = msg.copy(time=0x0FFFFFFF)
            kept.append(msg.copy(time=msg.time + carried))
            carried = 0
        track[:] = kept
    if how in ("tempo_zero", "tempo_absurd") and not any(m.type == "set_tempo" for t in midi.tracks for m in t):
        midi.tracks[0].insert(0, mido.MetaMessage("set_tempo", tempo=0 if how == "tempo_zero" else 0xFFFFFF))
    out = io.BytesIO()
    midi.save(file=out)
    return out.getvalue()


# ---------------------------------------------------------------- strategies

raw_mutation = st.one_of(
    st.tuples(st.just("truncate"), st.floats(0.0, 1.0)),
    st.tuples(st.just("flip"), st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(0, 7)), min_size=1, max_size=8)),
    st.tuples(st.just("chunk_length"), st.integers(0, 4),
              st.sampled_from([0, 1, 5, 0x7FFFFFFF, 0xFFFFFFFF]) | st.integers(0, 2**32 - 1)),
    st.tuples(st.just("track_count"), st.sampled_from([0, 1, 2, 10_000, 0xFFFF])),
    st.tuples(st.just("insert"), st.lists(st.sampled_from(sorted(NASTY_FRAGMENTS)), min_size=1, max_size=4)),
)


def _apply(data: bytes, mutation: tuple) -> bytes:
    kind = mutation[0]
    if kind == "truncate":
        return truncate(data, mutation[1])
    if kind == "flip":
        return flip_bits(data, mutation[1])
    if kind == "chunk_length":
        return set_chunk_length(data, mutation[1], mutation[2])
    if kind == "track_count":
        return set_track_count(data, mutation[1])
    return insert_in_first_track(data, b"".join(NASTY_FRAGMENTS[n] for n in mutation[1]))


# A case is drawn as a recipe (small, readable when hypothesis reports it) and built here.
midi_recipe = st.tuples(
    st.sampled_from(["real", "no_note_off", "tempo_zero", "tempo_absurd", "huge_delta", "fragments", "tracks"]),
    st.integers(0, len(REAL_MIDI) - 1),
    st.sampled_from([0, 1, 96, 480, 0x7FFF, 0xE728]),  # division for fragments; 0xE7..: SMPTE timing
    st.sampled_from([0, 1, 2, 7]),  # format for fragments
    st.lists(st.sampled_from(sorted(NASTY_FRAGMENTS)), min_size=1, max_size=12),
    st.lists(raw_mutation, max_size=3),
)


def build_midi(recipe: tuple) -> bytes:
    origin, base, division, fmt, fragments, mutations = recipe
    if origin == "real":
        data = REAL_MIDI[base]
    elif origin == "fragments":
        data = mthd(fmt, 1, division) + track_from_fragments(fragments)
    elif origin == "tracks":
        data = [mthd(1, 0, 480), many_tracks(10_000), many_tracks(10_000, with_notes=False)][base % 3]
    else:
        data = _mido_variant(base, origin)
    for mutation in mutations:
        data = _apply(data, mutation)
    return data


audio_recipe = st.tuples(
    st.sampled_from([8000, 22050, 44100, 96000]),
    st.sampled_from([1, 2, 8]),
    st.sampled_from([0, 1, 2, 257, 4000]),
    st.sampled_from(["tone", "tone", "silence", "nan", "inf", "one_nan"]),
    st.sampled_from([("wav", "WAV", "PCM_16"), ("wav", "WAV", "FLOAT"), ("wav", "WAV", "PCM_24"),
                     ("flac", "FLAC", "PCM_16"), ("ogg", "OGG", "VORBIS")]),
    st.lists(st.one_of(
        st.tuples(st.just("truncate"), st.floats(0.0, 1.0)),
        st.tuples(st.just("flip"), st.lists(st.tuples(st.floats(0.0, 0.1), st.integers(0, 7)), min_size=1, max_size=6)),
        # a header field rewritten: RIFF size, fmt size, format tag, channels, rate, bits, data size
        st.tuples(st.just("field"), st.sampled_from([4, 16, 20, 22, 24, 34, 40]),
                  st.sampled_from([0, 1, 0xFFFF, 0xFFFFFFFF])),
        st.tuples(st.just("magic"), st.sampled_from([b"RIFX", b"JUNK", b"MThd", b"\x00\x00\x00\x00"])),
        st.tuples(st.just("extension"), st.sampled_from(["wav", "flac", "ogg", "mp3", "mid"])),
    ), max_size=2),
)


def build_audio(recipe: tuple) -> tuple[str, bytes, dict | None]:
    """``(extension, bytes, expectation or None)``; expectations are stated for unmutated files only."""
    rate, channels, frames, fill, (ext, fmt, subtype), mutations = recipe
    if fill in ("nan", "inf", "one_nan") and subtype != "FLOAT":
        ext, fmt, subtype = "wav", "WAV", "FLOAT"  # only a float file can carry them
    t = np.arange(frames) / rate
    samples = np.repeat((0.5 * np.sin(2 * np.pi * 440 * t))[:, None], channels, axis=1).astype(np.float32)
    if frames == 1 and fill == "tone":
        samples[:] = 0.5
    if fill == "silence":
        samples[:] = 0
    elif fill == "nan":
        samples[:] = np.nan
    elif fill == "inf":
        samples[:] = np.inf
    elif fill == "one_nan" and frames:
        samples[frames // 2, channels - 1] = np.nan
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format=fmt, subtype=subtype)
    data = buffer.getvalue()
    expected = None
    if not mutations:
        if frames == 0:
            expected = {"reason": {"audio holds no samples", "empty file"}}  # a 0-frame FLAC may be 0 bytes
        elif fill in ("nan", "inf", "one_nan"):
            expected = {"reason": {"audio holds NaN or infinite samples"}}
        elif fill == "silence":
            expected = {"reason_start": "audio is silent"}
        elif subtype != "VORBIS":  # a lossy codec may pad frames
            expected = {"info": {"sample_rate": rate, "channels": channels, "duration_s": round(frames / rate, 6)}}
    for mutation in mutations:
        if mutation[0] == "truncate":
            data = truncate(data, mutation[1])
        elif mutation[0] == "flip":
            data = flip_bits(data, mutation[1])
        elif mutation[0] == "field":
            width = 2 if mutation[1] in (20, 22, 34) else 4
            offset = mutation[1]
            if len(data) >= offset + width:
                value = (mutation[2] & (2 ** (8 * width) - 1)).to_bytes(width, "little")
                data = data[:offset] + value + data[offset + width:]
        elif mutation[0] == "magic":
            data = mutation[1] + data[4:]
        else:
            ext = mutation[1]
    return ext, data, expected


# ---------------------------------------------------------------- the check


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    """Room for every batch of the module (hypothesis examples share no function-scoped fixture)."""
    return tmp_path_factory.mktemp("fuzz")


def _import_batch(files: dict[str, bytes], scratch: Path) -> tuple[DatasetLayout, dict, dict[str, str], dict]:
    """Write ``files`` to a fresh source folder, import it, and account for every file."""
    work = Path(tempfile.mkdtemp(prefix="batch-", dir=scratch))
    src = work / "src"
    for name, data in files.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_bytes(data)
    params = resolve({"dataset": {"name": "fuzz", "root": str(work / "datasets"), "source_dir": str(src)},
                      "import": {"n_jobs": 2, "timeout_s": TIMEOUT_S},
                      "augment": {"multiplier": 1, "n_jobs": 2},
                      # one features worker: no numba warm-up process per example
                      "features": {"n_jobs": 1, "timeout_s": 3 * TIMEOUT_S}})
    layout = DatasetLayout.from_params(params)
    before = tree_digest(src)
    # No hang: every file has its own limit, so the whole batch has one too.
    limit = 30 + TIMEOUT_S * len(files)
    try:
        with time_limit(limit):
            report = import_sources(src, layout, params)
    except Hang:
        pytest.fail(f"import of {len(files)} hostile files did not finish within {limit:g} s")
    assert tree_digest(src) == before, "the import modified its source folder"

    imported = {source: sample for sample in report.samples for source in sample["sources"]}
    quarantined = {q["path"]: q["reason"] for q in read_json(layout.quarantine)["files"]}
    assert not imported.keys() & quarantined.keys()
    assert imported.keys() | quarantined.keys() == set(files), "a file was neither imported nor quarantined"
    for path, reason in quarantined.items():
        assert one_line_reason(reason) and len(reason) <= 400, (path, reason)
        assert str(work) not in reason, (path, reason)  # outputs must not depend on where the data lives
    for sample in imported.values():
        stored = layout.abs(sample["path"]).read_bytes()
        assert sha256_bytes(stored) == sample["sha256"] == sha256_bytes(files[sample["source"]])
        if sample["kind"] == "midi":
            assert sample["info"]["n_notes"] > 0
            assert math.isfinite(sample["info"]["duration_s"]) and sample["info"]["duration_s"] > 0
        else:
            assert sample["info"]["channels"] >= 1 and sample["info"]["sample_rate"] > 0
            assert math.isfinite(sample["info"]["peak_dbfs"])
    assert temp_files(layout.root) == []
    return layout, imported, quarantined, params


def _process_survivors(layout: DatasetLayout, params: dict, imported: dict) -> None:
    """Augment and extract features of what the import let in: each sample ends made or failed with a reason."""
    parents = {sample["id"] for sample in imported.values()}
    with time_limit(600):
        augment_dataset(layout, params)
    record = read_json(layout.index("augmented"))
    augmented = {s["parent"] for s in record["samples"]}
    failed = {f["parent"]: f["reason"] for f in record["failed"]}
    assert augmented | failed.keys() == parents and not augmented & failed.keys()
    assert all(one_line_reason(r) for r in failed.values()), failed

    with time_limit(900):
        extract_features(layout, params)
    status = read_json(layout.index("features"))["samples"]
    assert set(status) == parents | {s["id"] for s in record["samples"]}
    for sample_id, entry in status.items():
        assert entry["status"] in ("ok", "failed"), (sample_id, entry)
        if entry["status"] == "failed":
            assert one_line_reason(entry["reason"]), (sample_id, entry)
    assert temp_files(layout.root) == []


@settings(FUZZ, max_examples=15)
@given(batch=st.lists(midi_recipe, min_size=6, max_size=14))
def test_mutated_real_midi_is_imported_or_quarantined_with_a_one_line_reason(scratch, batch):
    files = {"good/pristine.mid": PRISTINE}
    files.update({f"fuzz/{i:02d}.mid": build_midi(recipe) for i, recipe in enumerate(batch)})
    _layout, imported, quarantined, _params = _import_batch(files, scratch)
    assert "good/pristine.mid" in imported
    # A file cut before its first note can never be accepted.
    for name, data in files.items():
        if len(data) < 14:
            assert name in quarantined, (name, data)


@settings(FUZZ, max_examples=10)
@given(batch=st.lists(audio_recipe, min_size=6, max_size=12))
def test_odd_and_mutated_audio_is_imported_or_quarantined_with_a_one_line_reason(scratch, batch):
    files = {"good/pristine.mid": PRISTINE}
    expectations = {}
    for i, recipe in enumerate(batch):
        ext, data, expected = build_audio(recipe)
        files[f"fuzz/{i:02d}.{ext}"] = data
        expectations[f"fuzz/{i:02d}.{ext}"] = expected
    _layout, imported, quarantined, _params = _import_batch(files, scratch)
    for name, expected in expectations.items():
        if expected is None:
            continue
        if "info" in expected:
            assert name in imported, (name, quarantined.get(name))
            info = imported[name]["info"]
            assert {k: info[k] for k in expected["info"]} == expected["info"]
        elif "reason" in expected:
            assert quarantined.get(name) in expected["reason"], name
        else:
            assert quarantined.get(name, "").startswith(expected["reason_start"]), name




def test_every_named_midi_hostility_ends_imported_or_quarantined_as_expected(scratch):
    """One file per hostility the issue names, so each is covered whatever hypothesis draws."""
    no_note_off = _mido_variant(0, "no_note_off")
    files = {
        "zero_tracks.mid": mthd(1, 0, 480),
        "ten_thousand_tracks.mid": many_tracks(10_000),
        "ten_thousand_empty_tracks.mid": many_tracks(10_000, with_notes=False),
        "claims_ten_thousand_tracks.mid": set_track_count(PRISTINE, 10_000),
        "no_note_off.mid": no_note_off,
        "tempo_zero.mid": _mido_variant(0, "tempo_zero"),
        "tempo_absurd.mid": _mido_variant(0, "tempo_absurd"),
        "huge_delta.mid": _mido_variant(0, "huge_delta"),
        "overlong_delta.mid": mthd() + track_from_fragments(["overlong_delta", "note_off", "end_of_track"]),
        "running_status_first.mid": mthd() + track_from_fragments(["running_data", "note_on", "end_of_track"]),
        "running_status_after_meta.mid": mthd() + track_from_fragments(
            ["note_on", "meta_text", "running_data", "note_off", "end_of_track"]),
        "running_status_after_sysex.mid": mthd() + track_from_fragments(
            ["note_on", "sysex", "running_data", "note_off", "end_of_track"]),
        "smpte_division.mid": mthd(1, 1, 0xE728) + track_from_fragments(["note_on", "note_off", "end_of_track"]),
        "division_zero.mid": mthd(1, 1, 0) + track_from_fragments(["note_on", "note_off", "end_of_track"]),
        "header_only.mid": PRISTINE[:14],
        "truncated_mid_track.mid": truncate(PRISTINE, 0.6),
        "track_length_zero.mid": set_chunk_length(PRISTINE, 1, 0),
        "bit_flipped.mid": flip_bits(PRISTINE, [(0.3, 1), (0.5, 7), (0.7, 3)]),
    }
    _, imported, quarantined, _ = _import_batch(files, scratch)
    assert quarantined["zero_tracks.mid"] == "MIDI holds no notes"
    assert quarantined["ten_thousand_empty_tracks.mid"] == "MIDI holds no notes"
    assert imported["ten_thousand_tracks.mid"]["info"]["n_notes"] == 3  # empty tracks are dropped
    assert quarantined["tempo_zero.mid"] == "MIDI has an unusable duration (0.0 s)"
    assert quarantined["no_note_off.mid"] == "MIDI holds no notes"  # symusic drops unterminated notes
    assert imported["tempo_absurd.mid"]["info"]["duration_s"] > 300  # 16.7 s per quarter note
    assert quarantined["huge_delta.mid"].startswith("lasts ")  # days of silence claimed in a few bytes
    assert quarantined["huge_delta.mid"].endswith("above the limit import.max_duration_s = 7200")
    assert quarantined["header_only.mid"] == "MIDI holds no notes"
    assert quarantined["division_zero.mid"].startswith("MIDI has an unusable duration")
    assert quarantined["smpte_division.mid"].startswith("MIDI does not parse")
    assert quarantined["truncated_mid_track.mid"].startswith("MIDI does not parse: truncated or corrupt")


# Fewer examples: each one also runs the augment and features stages over the survivors.
@settings(FUZZ, max_examples=4)
@given(batch=st.lists(midi_recipe, min_size=6, max_size=12))
def test_mutated_midi_that_gets_in_is_augmented_and_featurized_or_fails_with_a_reason(scratch, batch):
    files = {"good/pristine.mid": PRISTINE}
    files.update({f"fuzz/{i:02d}.mid": build_midi(recipe) for i, recipe in enumerate(batch)})
    layout, imported, _, params = _import_batch(files, scratch)
    _process_survivors(layout, params, imported)


@settings(FUZZ, max_examples=4)
@given(batch=st.lists(audio_recipe, min_size=6, max_size=10))
def test_odd_audio_that_gets_in_is_augmented_and_featurized_or_fails_with_a_reason(scratch, batch):
    files = {"good/pristine.mid": PRISTINE}
    files.update({f"fuzz/{i:02d}.{build_audio(r)[0]}": build_audio(r)[1] for i, r in enumerate(batch)})
    layout, imported, _, params = _import_batch(files, scratch)
    _process_survivors(layout, params, imported)


# Found by fuzzing symusic 0.5.9: a track chunk declaring far more bytes than the file holds
# sends its reader past the end of the buffer. The worker then segfaults or parses heap
# garbage ("Unexpected running status"), a different fate from run to run.
PARSER_CRASHERS = [
    (b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\x01\xe0MTrkk\xff\x9d\x18\x00\xf4\x01\x00\xff\x03\x06Piano\x00\x00"
    b"\xffX\x04\x03\x03\x18\x08\x00\xffY\x02\x00\x00\x00\xffQ\x03\x07\xa1 \x00\xb0y\x00\x00\xc0\x00\x00\xb0\x07d"
    b"\x00\n@\x00[\x00\x00]\x00\x00\xff!\x01\x00\x81p\x90CP\x00C\x00\x00CP\x81pEP\x81WC\x00\x0cE\x00\x01\xff/\x00"),
    (b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\x01\xe0MTrk\xa9\xc5\xc7\xef\xff\xff\xff\xff\xff\x7f\x90Ad\x00\xffQ\x03"
    b"\x00\x00\x00\x00\xf8\x10>d\x00\xff\x03\x06Piano\x00\x00\xffX\x04\x03\x03\x18\x08\x00\xffY\x02\x00\x00\x00"
    b"\xffQ\x03\x07\xa1 \x00\xb0y\x00\x00\xc0\x00\x00\xb0\x07d\x00\n@\x00[\x00\x00]\x00\x00\xff!\x01\x00\x81p"
    b"\x90CP\x00C\x00\x00CP\x81pEP\x81WC\x00\x0cE\x00\x01\xff/\x00"),
]


def test_a_chunk_length_past_the_end_of_the_file_gets_the_same_reason_in_every_run(scratch):
    files = {"a_good.mid": PRISTINE, "z_good.mid": REAL_MIDI[1]}
    files.update({f"crash_{i}.mid": data for i, data in enumerate(PARSER_CRASHERS)})
    runs = []
    for _ in range(3):
        _, imported, quarantined, _ = _import_batch(files, scratch)
        assert set(imported) == {"a_good.mid", "z_good.mid"}  # the import went on past them
        runs.append({name: quarantined[name] for name in quarantined})
    assert runs[0] == runs[1] == runs[2]
    for i in range(len(PARSER_CRASHERS)):
        assert runs[0][f"crash_{i}.mid"].startswith("MIDI does not parse: truncated or corrupt, chunk 1 at byte 14")


def _wav_header(rate: int, channels: int, frames: int, bits: int = 16, float_format: bool = False) -> bytes:
    block = channels * bits // 8
    data_size = frames * block
    fmt = struct.pack("<HHIIHH", 3 if float_format else 1, channels, rate, rate * block, block, bits)
    return b"RIFF" + struct.pack("<I", 36 + data_size) + b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt \
        + b"data" + struct.pack("<I", data_size)


def test_ten_minute_audio_under_the_size_limit_is_imported_with_its_full_duration(scratch):
    rate = 8000
    second = (0.4 * np.sin(2 * np.pi * 220 * np.arange(rate) / rate) * 32767).astype("<i2").tobytes()
    data = _wav_header(rate, 1, 600 * rate) + second * 600  # 9.6 MB, built without an encoder
    _layout, imported, _quarantined, _ = _import_batch({"long/ten_minutes.wav": data}, scratch)
    assert imported["long/ten_minutes.wav"]["info"]["duration_s"] == 600.0


MEMORY_PROBE = """
import json, resource, sys
from pathlib import Path
from penta_core.augment.variants import augment_dataset
from penta_core.features.extract import extract_features
from penta_core.sources.importer import import_sources
from penta_core.core.layout import DatasetLayout
from penta_core.core.params import resolve
if __name__ == "__main__":
    src, root = Path(sys.argv[1]), Path(sys.argv[2])
    params = resolve({"dataset": {"name": "mem", "root": str(root), "source_dir": str(src)},
                      "import": {"n_jobs": 1, "timeout_s": 60.0}})
    report = import_sources(src, DatasetLayout.from_params(params), params)
    # Own peak from VmHWM: ru_maxrss of a process started by vfork+exec can report its
    # parent's peak (the pytest process). Children: the workers, started from this small process.
    try:
        own = int(next(line for line in open("/proc/self/status") if line.startswith("VmHWM")).split()[1])
    except (OSError, StopIteration):
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kib = max(own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    print(json.dumps({"max_rss_mb": kib / 1024, "quarantined": report.quarantined,
                      "imported": [s["source"] for s in report.samples]}))
"""


def test_a_file_over_max_file_mb_is_quarantined_unread_so_memory_stays_bounded(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "ok.mid").write_bytes(PRISTINE)
    # Ten minutes of 96 kHz, 8-channel float audio: 1.8 GB that cost nothing on disk (sparse).
    frames = 600 * 96_000
    with open(src / "huge.wav", "wb") as handle:
        handle.write(_wav_header(96_000, 8, frames, bits=32, float_format=True))
        handle.truncate(44 + frames * 8 * 4)
    (tmp_path / "probe.py").write_text(MEMORY_PROBE)
    started = time.monotonic()
    result = subprocess.run([sys.executable, str(tmp_path / "probe.py"), str(src), str(tmp_path / "datasets")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["imported"] == ["ok.mid"]
    assert outcome["quarantined"] == [{
        "path": "huge.wav", "reason": "file is 1757.8 MB, above the limit import.max_file_mb = 256"}]
    assert outcome["max_rss_mb"] < 400, outcome  # nobody read the 1.8 GB into memory
    assert time.monotonic() - started < 60
