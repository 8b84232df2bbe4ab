"""The sanitize report: audio condition (clipping, DC offset, edge silence) and counts per source and reason."""
from __future__ import annotations

import json

import numpy as np
import soundfile as sf
from helpers import write_midi, write_tone

from penta_core.sources.checks import CONDITION, check_audio, check_source
from penta_core.sources.sanitize import reason_kind, sanitize_report
from penta_core.sources.stage import run as run_import

SR = 8000


def _wav(path, signal):
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), np.asarray(signal, dtype=np.float32), SR, subtype="PCM_16")
    return path


def _tone(seconds=1.0, amplitude=0.5, offset=0.0):
    t = np.arange(int(seconds * SR)) / SR
    return amplitude * np.sin(2 * np.pi * 440 * t) + offset


def test_a_clean_tone_has_no_clipping_offset_or_edge_silence(tmp_path):
    c = check_audio(_wav(tmp_path / "a.wav", _tone()))[CONDITION]
    assert c["clipped_share"] == 0 and c["dc_offset"] < 0.001
    assert c["lead_silence_s"] < 0.001 and c["tail_silence_s"] < 0.001  # sin(0) is one silent sample


def test_clipping_is_the_share_of_samples_at_full_scale(tmp_path):
    c = check_audio(_wav(tmp_path / "a.wav", np.clip(_tone(amplitude=2.0), -1, 1)))[CONDITION]
    assert 0.5 < c["clipped_share"] < 0.8  # |2 sin| >= 1 for two thirds of a period


def test_dc_offset_is_the_largest_channel_mean(tmp_path):
    assert abs(check_audio(_wav(tmp_path / "a.wav", _tone(offset=0.2)))[CONDITION]["dc_offset"] - 0.2) < 0.001


def test_digital_silence_at_either_end_is_measured(tmp_path):
    signal = np.concatenate([np.zeros(3 * SR), _tone(), np.zeros(SR // 2)])
    c = check_audio(_wav(tmp_path / "a.wav", signal))[CONDITION]
    assert abs(c["lead_silence_s"] - 3.0) < 0.01 and abs(c["tail_silence_s"] - 0.5) < 0.01


def test_the_condition_stays_out_of_the_samples_info(tmp_path):
    verdict = check_source((str(_wav(tmp_path / "a.wav", _tone())), "audio", -80.0))
    assert CONDITION in verdict and CONDITION not in verdict["info"]


def test_a_reason_loses_its_particulars():
    assert reason_kind("file is 300.1 MB, above the limit import.max_file_mb = 256") == "file is N MB"
    assert reason_kind("MIDI does not parse: truncated or corrupt, chunk 1") == "MIDI does not parse"
    assert reason_kind("unsupported file type (.txt); expected .mid") == "unsupported file type"


def test_counts_are_kept_per_fetched_source():
    samples = [{"source": "a/x.mid", "sources": ["a/x.mid", "b/x.mid"]}, {"source": "b/y.wav", "sources": ["b/y.wav"]}]
    quarantined = [{"path": "a/bad.mid", "reason": "MIDI holds no notes"},
                   {"path": "a/n.txt", "reason": "unsupported file type (.txt)"}]
    conditions = {"b/y.wav": {"clipped_share": 0.2, "dc_offset": 0.0, "lead_silence_s": 0.0, "tail_silence_s": 5.0}}
    opts = {"max_clipping_share": 0.001, "max_dc_offset": 0.05, "max_edge_silence_s": 2.0}
    report = sanitize_report(samples, quarantined, conditions, opts, by_folder=True, whole="sources")
    a, b = report["sources"]["a"], report["sources"]["b"]
    assert (a["files"], a["imported"], a["duplicates"]) == (3, 1, 1)
    assert a["quarantined"] == {"MIDI holds no notes": 1, "unsupported file type": 1}
    assert (b["files"], b["imported"], b["clipping"], b["tail_silence"], b["dc_offset"]) == \
        (2, 1, ["b/y.wav"], ["b/y.wav"], [])


def test_the_import_writes_and_prints_the_sanitize_report(tmp_path, params, layout):
    src = tmp_path / "src"
    write_midi(src / "happy" / "a.mid")
    _wav(src / "calm" / "clipped.wav", np.clip(_tone(amplitude=2.0), -1, 1))
    write_tone(src / "calm" / "fine.wav", sr=SR)
    (src / "notes.txt").write_text("hello")
    lines = run_import(params, layout)
    report = json.loads((layout.metrics_dir / "sanitize.json").read_text())
    entry = report["sources"]["src"]
    assert (entry["files"], entry["imported"], entry["audio_checked"]) == (4, 3, 2)
    assert entry["clipping"] == ["calm/clipped.wav"] and entry["quarantined"] == {"unsupported file type": 1}
    assert any(line.startswith("  source src: 4 files, 3 imported") and "1 clipping" in line for line in lines)
    imported = json.loads(layout.index("imported").read_text())["samples"]
    assert all(CONDITION not in s["info"] for s in imported)
