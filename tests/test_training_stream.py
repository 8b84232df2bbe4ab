"""Streaming a split for training: exactly once per epoch per reader count, seeded shuffles, decoding."""
from __future__ import annotations

import importlib.util
import io
import shutil

import numpy as np
import pytest
import soundfile as sf
from helpers import make_score

from penta_core.core.errors import MissingInput, ParamError
from penta_core.core.layout import DatasetLayout
from penta_core.core.params import resolve
from penta_core.export.build import export_dataset
from penta_core.training import SplitStream, decode_audio, decode_midi, piano_roll, shuffle_buffer

FORMATS = ["webdataset", "parquet"] + (["lmdb"] if importlib.util.find_spec("lmdb") else [])


def _ids(stream):
    return [record["id"] for record in stream.records()]


def _split(root, split):
    return (root / "splits" / f"{split}.txt").read_text().split()


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("workers", [1, 2, 3])
def test_every_sample_is_read_exactly_once_per_epoch_whatever_the_workers(exported, fmt, workers):
    for epoch in (0, 1):
        seen = []
        for worker in range(workers):
            stream = SplitStream(exported, "train", format=fmt, seed=3, epoch=epoch, midi="bytes", audio="bytes",
                                 worker=worker, num_workers=workers)
            seen += _ids(stream)
        assert sorted(seen) == _split(exported, "train"), (fmt, workers, epoch)


def test_readers_across_ranks_and_workers_share_the_split_exactly_once(exported):
    seen = []
    for rank in range(2):
        for worker in range(3):
            seen += _ids(SplitStream(exported, "val", format="webdataset", midi="bytes", audio="bytes", rank=rank,
                                     world_size=2, worker=worker, num_workers=3))
    assert sorted(seen) == _split(exported, "val")


def test_workers_get_equal_shares_when_their_count_divides_workers_multiple(exported):
    shares = [len(_ids(SplitStream(exported, "train", midi="bytes", audio="bytes", worker=w, num_workers=4)))
              for w in range(4)]
    assert len(SplitStream(exported, "train").units()) % 4 == 0
    assert sum(shares) == len(_split(exported, "train")) and max(shares) - min(shares) <= 4  # ±1 per shard


@pytest.mark.parametrize("fmt", FORMATS)
def test_shuffles_are_a_function_of_seed_and_epoch(exported, fmt):
    def order(seed, epoch):
        return _ids(SplitStream(exported, "train", format=fmt, seed=seed, epoch=epoch, buffer_size=64,
                                midi="bytes", audio="bytes"))
    first = order(7, 0)
    assert first == order(7, 0)
    assert first != order(8, 0) and first != order(7, 1)
    assert sorted(first) == sorted(order(8, 0))
    stored = _ids(SplitStream(exported, "train", format=fmt, shuffle=False, midi="bytes", audio="bytes"))
    assert first != stored and sorted(first) == sorted(stored)


def test_set_epoch_changes_the_order_and_keeps_the_samples(exported):
    stream = SplitStream(exported, "train", seed=1, midi="bytes", audio="bytes")
    epoch0 = _ids(stream)
    stream.set_epoch(1)
    epoch1 = _ids(stream)
    assert epoch0 != epoch1 and sorted(epoch0) == sorted(epoch1)


def test_the_shuffle_buffer_permutes_within_its_size_and_repeats_per_seed():
    consumed = []

    def source():
        for i in range(500):
            consumed.append(i)
            yield i

    out = []
    for item in shuffle_buffer(source(), 32, np.random.default_rng(0)):
        assert len(consumed) - len(out) <= 33  # the buffer's 32 items, and the one it just took in
        out.append(item)
    assert sorted(out) == list(range(500)) and out != list(range(500))
    assert out == list(shuffle_buffer(range(500), 32, np.random.default_rng(0)))
    assert max(abs(pos - item) for pos, item in enumerate(out) if pos < 400) < 200


def test_examples_carry_decoded_samples_features_and_labels(exported):
    options = {"midi": "pianoroll", "fs": 50, "sample_rate": 8000, "shuffle": False}
    midi = SplitStream(exported, "val", kinds=("midi",), **options)
    audio = SplitStream(exported, "train", kinds=("audio",), **options)
    records = list(midi.records()) + list(audio.records())
    assert {r["meta"]["kind"] for r in records} == {"midi", "audio"}
    for record in records:
        meta, sample = record["meta"], record["sample"]
        assert record["label"] == midi.classes.index(meta["label"])
        assert record["features"].dtype == np.float32 and record["features"].shape == (len(midi.feature_columns),)
        if meta["kind"] == "midi":
            assert sample.dtype == np.uint8 and sample.shape[0] == 128 and sample.max() > 0
        else:
            assert sample.dtype == np.float32 and sample.ndim == 1
            expected = meta["transform"]["speed_factor"] if meta["transform"] else 1.0
            assert len(sample) == pytest.approx(5.0 * 8000 / expected, rel=0.01)  # 5 s clips, resampled
    sample, features, label = next(iter(midi))
    assert isinstance(label, int) and features is not None and sample is not None


def test_midi_decodes_to_symusic_or_pretty_midi_objects(exported):
    stream = SplitStream(exported, "test", kinds=("midi",), midi="bytes", shuffle=False)
    data = next(iter(stream)).sample
    score = decode_midi(data, as_="score")
    pm = decode_midi(data, as_="pretty_midi")
    assert score.note_num() == sum(len(i.notes) for i in pm.instruments) > 0
    assert type(next(iter(SplitStream(exported, "test", kinds=("midi",), midi="score"))).sample) is type(score)


def test_a_piano_roll_holds_each_note_at_its_frames_with_the_loudest_velocity():
    # 120 bpm: a beat is 0.5 s; at fs 10 a beat is 5 frames.
    score = make_score([(0, False, [(0, 1, 60, 80), (0.5, 1, 60, 100), (2, 0.5, 64, 50)]),
                        (0, True, [(0, 1, 36, 127)])])
    roll = piano_roll(score, fs=10)
    assert roll.shape == (128, 13)  # the last note ends at 2.5 beats = 1.25 s → frame 13
    assert list(roll[60, :8]) == [80, 80, 100, 100, 100, 100, 100, 100] and roll[60, 8:].max() == 0
    assert list(roll[64, 10:13]) == [50, 50, 50] and roll[64, :10].max() == 0
    assert roll[36].max() == 0  # drums left out
    assert piano_roll(score, fs=10, drums=True)[36, :5].tolist() == [127] * 5


def test_audio_decodes_at_the_chosen_rate_mono_or_not():
    t = np.arange(16000) / 16000
    stereo = np.stack([np.sin(2 * np.pi * 440 * t), 0.5 * np.sin(2 * np.pi * 440 * t)], axis=1) * 0.5
    buffer = io.BytesIO()
    sf.write(buffer, stereo, 16000, format="FLAC", subtype="PCM_24")
    data = buffer.getvalue()
    both = decode_audio(data, sample_rate=None, mono=False)
    assert both.shape == (2, 16000) and both.dtype == np.float32
    assert np.allclose(both[1], stereo[:, 1], atol=1e-6)
    mono = decode_audio(data, sample_rate=8000)
    assert mono.shape == (8000,) and np.sqrt(np.mean(mono**2)) == pytest.approx(0.75 * 0.5 / np.sqrt(2), rel=0.01)


def test_origins_leave_out_the_offline_variants(exported):
    stream = SplitStream(exported, "train", origins=("imported", "synthetic"), midi="bytes", audio="bytes")
    origins = {record["meta"]["origin"] for record in stream.records()}
    assert origins == {"imported", "synthetic"}


def test_targets_can_be_names_or_valence_and_arousal(exported):
    names = SplitStream(exported, "val", target="label", midi="bytes", audio="bytes", shuffle=False)
    va = SplitStream(exported, "val", target="valence_arousal", midi="bytes", audio="bytes", shuffle=False)
    for by_name, by_va, record in zip(names, va, names.records(), strict=True):
        assert by_name.label == record["meta"]["label"]
        assert by_va.label.tolist() == pytest.approx([record["meta"]["valence"], record["meta"]["arousal"]])


def test_audio_exported_as_a_path_is_read_from_the_dataset_folder(exported, tmp_path):
    root = tmp_path / "emotion_dataset_v1"
    shutil.copytree(exported, root)
    export_dataset(DatasetLayout(root), resolve({"dataset": {"root": str(tmp_path), "name": root.name},
                                                 "export": {"audio": "path", "formats": ["parquet"]}}))
    by_path = SplitStream(root, "train", format="parquet", kinds=("audio",), shuffle=False, sample_rate=None)
    by_bytes = SplitStream(exported, "train", format="parquet", kinds=("audio",), shuffle=False, sample_rate=None)
    pairs = list(zip(by_path.records(), by_bytes.records(), strict=True))
    assert pairs and all(a["id"] == b["id"] and np.array_equal(a["sample"], b["sample"]) for a, b in pairs)
    assert {a["meta"]["origin"] for a, _ in pairs} == {"imported", "augmented"}  # plain files and shard members


def test_a_missing_export_or_format_is_a_one_line_error(exported, tmp_path):
    with pytest.raises(MissingInput, match="no export at"):
        SplitStream(tmp_path, "train")
    with pytest.raises(ParamError, match="format must be one of"):
        SplitStream(exported, "train", format="tfrecord")
    copy = tmp_path / "ds"
    shutil.copytree(exported, copy)
    export_dataset(DatasetLayout(copy), resolve({"dataset": {"root": str(tmp_path), "name": "ds"},
                                                 "export": {"formats": ["parquet"]}}))
    with pytest.raises(MissingInput, match="holds no webdataset export"):
        SplitStream(copy, "train", format="webdataset")


def test_the_original_import_path_gives_the_same_loader():
    from penta_core import training
    from penta_core.ml import training as ml_training

    assert ml_training.SplitStream is training.SplitStream and ml_training.load_split is training.load_split


def test_a_pytorch_dataloader_with_workers_sees_each_sample_once(exported):
    pytest.importorskip("torch", reason="PyTorch is not installed (its CUDA wheels are several GB); "
                                        "the adapter is tested where it is")
    from torch.utils.data import DataLoader

    from penta_core.training import TorchSplitDataset

    data = TorchSplitDataset(SplitStream(exported, "train", kinds=("midi",), midi="pianoroll", target="label_id"),
                             transform=lambda ex: (ex.sample[:, :100].astype(np.float32), ex.label))
    for workers in (0, 2):
        labels = [int(y) for _, batch in DataLoader(data, batch_size=8, num_workers=workers) for y in batch]
        assert len(labels) == sum(1 for _ in SplitStream(exported, "train", kinds=("midi",), midi="bytes"))


def test_the_torch_adapter_without_torch_is_one_import_error_saying_what_to_install():
    if importlib.util.find_spec("torch") is not None:
        pytest.skip("PyTorch is installed: the adapter itself is tested above")
    for module in ("penta_core.training", "penta_core.ml.training"):
        with pytest.raises(ImportError, match=r"^TorchSplitDataset needs PyTorch: pip install torch") as info:
            _ = importlib.import_module(module).TorchSplitDataset
        assert "\n" not in str(info.value)
