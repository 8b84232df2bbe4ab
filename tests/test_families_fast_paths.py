"""The fingerprint's array shortcuts give exactly what the plain numpy forms give (family assignments depend on it)."""
from __future__ import annotations

import hashlib
from itertools import pairwise

import numpy as np
import pytest

from penta_core.families import midi, minhash
from penta_core.families.minhash import MAX_BUCKET, band_keys, band_keys_of, candidate_pair_array


def _plain_shingles(line: np.ndarray) -> np.ndarray:
    if len(line) < midi.NGRAM + 1:
        return np.zeros(0, np.uint32)
    steps = np.clip(np.diff(line), -midi.INTERVAL_LIMIT, midi.INTERVAL_LIMIT) + midi.INTERVAL_LIMIT
    windows = np.lib.stride_tricks.sliding_window_view(steps, midi.NGRAM)
    codes = windows @ (midi._BASE ** np.arange(midi.NGRAM, dtype=np.int64))
    return np.unique(codes[codes != midi._REPEATED_NOTE]).astype(np.uint32)


def _plain_skyline(onsets: np.ndarray, pitches: np.ndarray) -> np.ndarray:
    if len(onsets) == 0:
        return np.zeros(0, np.int64)
    order = np.lexsort((pitches, onsets))
    on, pitch = onsets[order], pitches[order]
    starts = np.flatnonzero(np.concatenate([[True], np.diff(on) > midi.CLUSTER_BEATS]))
    return np.maximum.reduceat(pitch, starts)


def _plain_hash(tracks, drum_on, drum_key) -> str:
    onsets = np.concatenate([t[1] for t in tracks]) if tracks else np.zeros(0)
    pitches = np.concatenate([t[2] for t in tracks]) if tracks else np.zeros(0, np.int64)
    start = min([a.min() for a in (onsets, drum_on) if len(a)], default=0.0)
    tonal = np.unique(np.stack([np.round((onsets - start) * 24), pitches - pitches.min(initial=127)]).T
                      .astype(np.int64), axis=0) if len(onsets) else np.zeros((0, 2), np.int64)
    drums = np.unique(np.stack([np.round((drum_on - start) * 24), drum_key]).T.astype(np.int64), axis=0) \
        if len(drum_on) else np.zeros((0, 2), np.int64)
    return hashlib.sha256(tonal.tobytes() + b"|" + drums.tobytes()).hexdigest()[:16]


def _pairs(keys) -> set[tuple[int, int]]:
    return {(i, j) for i, j in candidate_pair_array(keys).tolist()}


def _plain_pairs(keys) -> set[tuple[int, int]]:
    buckets: dict[tuple[int, int], set[int]] = {}
    for item, k in keys:
        for band, value in enumerate(np.asarray(k, np.uint64).tolist()):
            buckets.setdefault((band, value), set()).add(item)
    pairs: set[tuple[int, int]] = set()
    for members in buckets.values():
        members = sorted(members)
        if len(members) > MAX_BUCKET:
            pairs.update(pairwise(members))
        else:
            pairs.update((a, b) for k, a in enumerate(members) for b in members[k + 1:])
    return pairs


def _lines(seed: int):
    rng = np.random.default_rng(seed)
    for n in (0, 1, 5, 6, 7, 30, 300):
        yield rng.integers(0, 128, n).astype(np.int64)
    yield np.full(40, 60, np.int64)  # repeated notes only: no shingle
    yield np.tile(np.array([60, 60, 60, 60, 60, 60, 62], np.int64), 6)
    yield np.array([0, 127, 0, 127, 0, 127, 0, 127], np.int64)  # intervals beyond INTERVAL_LIMIT


@pytest.mark.parametrize("seed", range(5))
def test_shingles_equal_the_sliding_window_form(seed):
    for line in _lines(seed):
        got, want = midi.shingles(line), _plain_shingles(line)
        assert got.dtype == want.dtype and np.array_equal(got, want)


@pytest.mark.parametrize("seed", range(5))
def test_skyline_equals_the_lexsort_form_with_chords_and_equal_onsets(seed):
    rng = np.random.default_rng(seed)
    for n in (0, 1, 2, 50, 400):
        onsets = np.round(rng.uniform(0, 16, n) * 4) / 4 + rng.choice([0, 0.05, 0.2], n)
        pitches = rng.integers(20, 110, n).astype(np.int64)
        assert np.array_equal(midi.skyline(onsets, pitches), _plain_skyline(onsets, pitches))


@pytest.mark.parametrize("seed", range(5))
def test_normalised_hash_equals_the_unique_rows_form(seed):
    rng = np.random.default_rng(seed)
    for n_tracks, n_drums in ((0, 0), (1, 0), (0, 30), (3, 0), (2, 40)):
        tracks = [(f"track{i}", np.round(rng.uniform(0.5, 20, 60) * 8) / 8, rng.integers(20, 110, 60).astype(np.int64))
                  for i in range(n_tracks)]
        drum_on, drum_key = rng.uniform(0, 20, n_drums), rng.integers(35, 82, n_drums).astype(np.int64)
        assert midi.normalised_hash(tracks, drum_on, drum_key) == _plain_hash(tracks, drum_on, drum_key)


def test_unique_rows_outside_the_packed_range_still_equals_numpy():
    first = np.array([3, -1, 3, 2**60, 0], np.int64)
    second = np.array([300, 5, 300, 1, -2], np.int64)
    assert np.array_equal(midi._unique_rows(first, second), np.unique(np.stack([first, second]).T, axis=0))


def test_band_keys_of_several_sets_equal_band_keys_of_each():
    rng = np.random.default_rng(7)
    sets = [np.unique(rng.integers(0, 10**6, n)) for n in (1, 24, 300, 57)]
    together = band_keys_of(sets)
    assert len(together) == len(sets)
    for keys, items in zip(together, sets):
        assert keys.dtype == np.uint64 and np.array_equal(keys, band_keys(items))
    with pytest.raises(ValueError, match="at least one code"):
        band_keys_of([sets[0], np.zeros(0, np.int64)])


@pytest.mark.parametrize("alphabet", [3, 20, 10**6])
def test_candidate_pairs_equal_the_bucket_by_bucket_form(alphabet):
    # Few distinct keys make buckets larger than MAX_BUCKET (consecutive members only); items
    # repeat (several voices of one file), and a voice may share a bucket with its own item.
    rng = np.random.default_rng(alphabet)
    keys = [(int(rng.integers(0, 250)), rng.integers(0, alphabet, 32).astype(np.uint64)) for _ in range(400)]
    assert _pairs(keys) == _plain_pairs(keys)
    assert _pairs([]) == set()
    assert _pairs([(0, np.arange(32, dtype=np.uint64))] * 2) == set()  # one item's two voices


@pytest.mark.parametrize("chunk", [1, 7, 1 << 20])
def test_pairs_gathered_a_chunk_at_a_time_are_the_same_pairs_in_ascending_order(monkeypatch, chunk):
    """Small chunks merge many times (a pair found in several bands, and in several chunks, is kept once)."""
    monkeypatch.setattr(minhash, "PAIR_CHUNK", chunk)
    rng = np.random.default_rng(5)
    keys = [(int(rng.integers(0, 120)), rng.integers(0, 6, 32).astype(np.uint64)) for _ in range(300)]
    pairs = candidate_pair_array(keys)
    assert pairs.dtype == np.int64 and pairs.shape[1] == 2 and len(pairs) > 100
    assert [tuple(p) for p in pairs.tolist()] == sorted(_plain_pairs(keys))
    assert candidate_pair_array([]).shape == (0, 2)


def test_sets_of_different_lengths_pair_only_within_each_band():
    rng = np.random.default_rng(11)
    keys = [(int(rng.integers(0, 60)), rng.integers(0, 4, int(rng.integers(1, 40))).astype(np.uint64))
            for _ in range(150)]
    assert [tuple(p) for p in candidate_pair_array(keys).tolist()] == sorted(_plain_pairs(keys))


def _voice_by_voice(tracks) -> dict[str, np.ndarray]:
    voices = {name: midi.shingles(midi.skyline(on, pitch)) for name, on, pitch, _ in tracks}
    if len(tracks) > 1:
        voices["all"] = midi.shingles(midi.skyline(np.concatenate([t[1] for t in tracks]),
                                                   np.concatenate([t[2] for t in tracks])))
    return voices


@pytest.mark.parametrize("seed", range(6))
def test_voices_in_one_pass_equal_each_voice_on_its_own(seed):
    # Chords, equal onsets across tracks, onsets just over and under a cluster apart, lines too
    # short for a shingle, repeated notes, negative ticks, a resolution that does not divide them.
    rng = np.random.default_rng(seed)
    for n_tracks in (0, 1, 2, 5):
        for tpq in (480.0, 96.0, 7.0):
            tracks = []
            for k in range(n_tracks):
                n = int(rng.choice([1, 5, 6, 40, 300]))
                ticks = np.round(rng.uniform(-2, 60, n) * tpq / 4).astype(np.int64) * int(rng.choice([1, 4]))
                ticks += rng.choice([0, 0, 1, int(tpq) // 8, int(tpq) // 8 + 1], n)
                pitch = rng.integers(0, 128, n) if k % 2 else np.full(n, 60) + rng.integers(0, 2, n)
                tracks.append((f"track{k}", ticks.astype(np.float64) / tpq, pitch.astype(np.int64), ticks))
            got, want = midi.voices_of(tracks, tpq), _voice_by_voice(tracks)
            assert list(got) == list(want)
            for name in want:
                assert got[name].dtype == want[name].dtype and np.array_equal(got[name], want[name]), name


def test_voices_in_one_pass_equal_each_voice_on_its_own_on_real_files():
    from pathlib import Path

    files = sorted((Path(__file__).parent / "fixtures" / "pop909").rglob("*.mid"))
    assert files
    for path in files:
        tracks, _, _, tpq = midi._notes(path)
        got, want = midi.voices_of(tracks, tpq), _voice_by_voice(tracks)
        assert list(got) == list(want) and all(np.array_equal(got[k], want[k]) for k in want), path


def test_voices_outside_the_packed_key_still_equal_each_voice_on_its_own():
    # A pitch below 0 (no MIDI file gives one) does not fit the one-integer sort key.
    rng = np.random.default_rng(11)
    ticks = [np.sort(rng.integers(0, 5000, 80)) for _ in range(2)]
    tracks = [(f"track{k}", t.astype(np.float64) / 96.0, rng.integers(-20, 100, 80).astype(np.int64), t)
              for k, t in enumerate(ticks)]
    got, want = midi.voices_of(tracks, 96.0), _voice_by_voice(tracks)
    assert list(got) == list(want) == ["track0", "track1", "all"]
    assert all(len(want[k]) and np.array_equal(got[k], want[k]) for k in want)
