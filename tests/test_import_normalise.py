"""Audio normalisation at import: trim, mono, resample; the source untouched, the outputs byte-identical on a
re-run, an unchanged re-import reading nothing, and changed params normalising again."""
from __future__ import annotations

import hashlib
import io
import json

import numpy as np
import pytest
import soundfile as sf

import penta_core.sources.originals as originals
from penta_core.core.errors import ParamError
from penta_core.core.layout import DatasetLayout
from penta_core.core.params import resolve
from penta_core.sources.normalise import Normalisation, encode_wav, normalise_array
from penta_core.sources.stage import run as run_import
from penta_core.store.access import read_where, sample_where

SR = 16000


def _signal(lead_s=0.5, tone_s=0.5, tail_s=0.3, channels=2) -> np.ndarray:
    t = np.arange(int(tone_s * SR)) / SR
    tone = 0.5 * np.sin(2 * np.pi * 440 * t + 0.3)  # phase: the first sample already sounds
    y = np.concatenate([np.zeros(int(lead_s * SR)), tone, np.zeros(int(tail_s * SR))])
    return np.stack([y * (1 - 0.3 * c) for c in range(channels)], axis=1)


def _source(tmp_path):
    src = tmp_path / "src"
    (src / "calm").mkdir(parents=True)
    sf.write(src / "calm" / "a.wav", _signal(), SR, subtype="PCM_16")
    sf.write(src / "calm" / "b.flac", _signal(lead_s=0.2, tail_s=0.0), SR)
    return src


def _params(tmp_path, name="ds", **imp):
    return resolve({"dataset": {"name": name, "root": str(tmp_path / "datasets"), "source_dir": str(tmp_path / "src")},
                    "import": {"n_jobs": 1, **imp}})


def _import(tmp_path, name="ds", **imp):
    params = _params(tmp_path, name, **imp)
    layout = DatasetLayout.from_params(params)
    lines = run_import(params, layout)
    samples = {s["source"]: s for s in json.loads(layout.index("imported").read_text())["samples"]}
    return layout, samples, lines


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_trim_cuts_edge_silence_to_the_margin_and_leaves_the_source_alone(tmp_path):
    src = _source(tmp_path)
    before = _sha(src / "calm" / "a.wav")
    layout, samples, _ = _import(tmp_path, edge_silence="trim")
    a = samples["calm/a.wav"]
    y, rate = sf.read(layout.abs(a["path"]), always_2d=True)
    assert (len(y), rate, y.shape[1]) == (int(0.5 * SR) + 2 * 160, SR, 2)  # the tone and 10 ms either side
    assert a["normalised"] == {"trimmed_s": [0.49, 0.29]}
    kept = sf.read(layout.abs(a["path"]), dtype="int16")[0]
    assert np.array_equal(kept, sf.read(src / "calm" / "a.wav", dtype="int16")[0][7840:7840 + len(kept)])  # lossless
    assert _sha(src / "calm" / "a.wav") == before == a["source_sha256"] and a["id"] == before[:16]
    assert a["sha256"] == _sha(layout.abs(a["path"])) and a["info"]["duration_s"] == round(len(y) / SR, 6)
    b = samples["calm/b.flac"]
    assert b["normalised"] == {"trimmed_s": [0.19, 0.0]} and b["path"] == "raw/audio/calm/b.wav"


def test_mono_and_resample_give_one_channel_at_the_rate(tmp_path):
    _source(tmp_path)
    layout, samples, _ = _import(tmp_path, channels="mono", sample_rate=8000)
    for source, seconds in (("calm/a.wav", 1.3), ("calm/b.flac", 0.7)):
        y, rate = sf.read(layout.abs(samples[source]["path"]), always_2d=True)
        assert (rate, y.shape[1], len(y)) == (8000, 1, round(seconds * 8000))
        assert samples[source]["normalised"] == {"channels": [2, 1], "sample_rate": [SR, 8000]}
        assert samples[source]["info"]["sample_rate"] == 8000 and samples[source]["info"]["channels"] == 1


def test_a_file_that_needs_nothing_keeps_its_bytes(tmp_path):
    src = tmp_path / "src"
    (src / "calm").mkdir(parents=True)
    sf.write(src / "calm" / "m.wav", _signal(lead_s=0.0, tail_s=0.0, channels=1), SR, subtype="PCM_16")
    _, samples, _ = _import(tmp_path, channels="mono", sample_rate=SR)
    m = samples["calm/m.wav"]
    assert m["normalised"] == {} and m["sha256"] == m["source_sha256"] == _sha(src / "calm" / "m.wav")


def test_the_same_source_and_params_give_byte_identical_wavs(tmp_path):
    _source(tmp_path)
    opts = {"edge_silence": "trim", "channels": "mono", "sample_rate": 22050}
    first, one, _ = _import(tmp_path, "one", **opts)
    second, two, _ = _import(tmp_path, "two", **opts)
    assert {k: s["sha256"] for k, s in one.items()} == {k: s["sha256"] for k, s in two.items()}
    assert all((first.abs(s["path"])).read_bytes() == second.abs(s["path"]).read_bytes() for s in one.values())


def test_a_float_wav_carries_no_time_stamp():
    y, rate, _ = normalise_array(_signal(), SR, Normalisation(trim=True))
    data = encode_wav(y, rate, "FLOAT")
    at = data.find(b"PEAK")
    assert at > 0 and data[at + 12:at + 16] == b"\0\0\0\0"  # libsndfile writes the clock there


def _count_normalised(monkeypatch) -> list[int]:
    """How many sources each import sends to the normalise workers, one count an import."""
    sent: list[int] = []
    real = originals.supervised_map

    def counting(func, items, **kw):
        items = list(items)
        sent.append(len(items))
        return real(func, items, **kw)

    monkeypatch.setattr(originals, "supervised_map", counting)
    return sent


def test_an_unchanged_reimport_reads_nothing_and_new_params_normalise_again(tmp_path, monkeypatch):
    _source(tmp_path)
    sent = _count_normalised(monkeypatch)
    layout, first, _ = _import(tmp_path, edge_silence="trim")
    _, again, lines = _import(tmp_path, edge_silence="trim")
    assert sent == [2, 0] and again == first
    assert "checked 0 new or changed files" in lines[1] and "wrote 0 raw copies, kept 2" in lines[1]

    _, resampled, _ = _import(tmp_path, edge_silence="trim", sample_rate=8000)
    assert sent[-1] == 2 and sf.info(layout.abs(resampled["calm/a.wav"]["path"])).samplerate == 8000

    _, plain, _ = _import(tmp_path)  # back to the defaults: the source's bytes, the .wav of the FLAC gone
    assert plain["calm/b.flac"]["path"] == "raw/audio/calm/b.flac" and "normalised" not in plain["calm/b.flac"]
    assert sorted(p.name for p in layout.raw_dir("audio").rglob("*") if p.is_file()) == ["a.wav", "b.flac"]
    assert _sha(layout.raw_dir("audio") / "calm" / "a.wav") == _sha(tmp_path / "src" / "calm" / "a.wav")


def test_packed_originals_hold_the_normalised_audio_and_a_reimport_reads_nothing(tmp_path, monkeypatch):
    _source(tmp_path)
    sent = _count_normalised(monkeypatch)
    layout, first, _ = _import(tmp_path, pack=True, edge_silence="trim", channels="mono")
    b = first["calm/b.flac"]
    assert b["member"] == "calm/b.wav" and b["normalised"] == {"trimmed_s": [0.19, 0.0], "channels": [2, 1]}
    data = read_where(sample_where(layout, b))
    y, rate = sf.read(io.BytesIO(data), always_2d=True)
    assert hashlib.sha256(data).hexdigest() == b["sha256"]
    assert (rate, y.shape[1], len(y)) == (SR, 1, int(0.5 * SR) + 160)
    assert not (layout.cache_dir / "normalise").exists()  # the staging folder is emptied
    _, again, lines = _import(tmp_path, pack=True, edge_silence="trim", channels="mono")
    assert sent == [2, 0] and again == first and "packed 0 originals into shards, kept 2" in lines[1]


def test_the_sanitize_report_counts_trims_per_source(tmp_path):
    _source(tmp_path)
    layout, _, lines = _import(tmp_path, edge_silence="trim", channels="mono")
    entry = json.loads((layout.metrics_dir / "sanitize.json").read_text())["sources"]["src"]
    assert (entry["trimmed"], entry["downmixed"], entry["resampled"]) == (2, 2, 0)
    assert any("normalised: 2 trimmed, 2 downmixed" in line for line in lines)


@pytest.mark.parametrize("imp, message", [
    ({"edge_silence": "cut"}, r"'import.edge_silence' must be one of report, trim"),
    ({"channels": "stereo"}, r"'import.channels' must be one of keep, mono"),
    ({"sample_rate": 0}, r"'import.sample_rate' must be an integer >= 1000"),
    ({"sample_rate": 22050.5}, r"'import.sample_rate' must be an integer"),
])
def test_normalisation_params_errors_name_the_key(imp, message):
    with pytest.raises(ParamError, match=message):
        resolve({"import": imp})
