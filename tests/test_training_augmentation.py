"""Training-time augmentation: each transform against its definition, with the values it drew."""
from __future__ import annotations

import numpy as np
import pytest

from penta_core.ml.training import augmentation as ml_augmentation
from penta_core.training import augmentation as aug


def _spectrograms(batch=4, freq=40, time=60, seed=1):
    return np.random.default_rng(seed).normal(size=(batch, freq, time)) + 3.0


def test_spec_augment_masks_the_drawn_bands_and_spans_and_changes_nothing_else():
    x = _spectrograms()
    t = aug.SpecAugment(freq_masks=2, max_freq_width=8, time_masks=3, max_time_width=10, mask_value="mean", p=1.0)
    out = t(x, np.random.default_rng(7))
    drawn = t.parameters["examples"]
    for i, example in enumerate(drawn):
        masked = np.zeros(x.shape[1:], dtype=bool)
        for start, width in example["freq"]:
            assert 0 <= width <= 8 and start + width <= x.shape[1]
            masked[start:start + width, :] = True
        for start, width in example["time"]:
            assert 0 <= width <= 10 and start + width <= x.shape[2]
            masked[:, start:start + width] = True
        assert example["value"] == pytest.approx(x[i].mean())
        assert np.all(out[i][masked] == example["value"])
        assert np.array_equal(out[i][~masked], x[i][~masked])
    assert any(w for e in drawn for _, w in e["freq"] + e["time"])  # something was masked
    assert np.array_equal(x, _spectrograms())  # the input is left alone


def test_spec_augment_zero_masks_and_probability_zero_leaves_every_example():
    x = _spectrograms()
    zeroed = aug.SpecAugment(mask_value="zero", max_freq_width=5, max_time_width=5)(x, np.random.default_rng(3))
    assert np.count_nonzero(zeroed == 0.0) > 0
    t = aug.SpecAugment(p=0.0)
    assert np.array_equal(t(x, np.random.default_rng(3)), x)
    assert not any(e["apply"] for e in t.parameters["examples"])


def test_mixup_mixes_inputs_and_labels_with_the_drawn_lambda_and_partner():
    x = _spectrograms()
    y = np.array([0, 1, 2, 3])
    t = aug.Mixup(alpha=0.4)
    mixed, soft = t(x, y, np.random.default_rng(11), num_classes=5)
    lam, perm = t.parameters["lam"], t.parameters["perm"]
    assert 0.0 < lam < 1.0 and sorted(perm) == [0, 1, 2, 3]
    assert np.allclose(mixed, lam * x + (1 - lam) * x[perm])
    assert np.allclose(soft.sum(axis=1), 1.0)
    for i in range(4):
        expected = np.zeros(5)
        expected[y[i]] += lam
        expected[y[perm[i]]] += 1 - lam
        assert np.allclose(soft[i], expected)


def test_mixup_lambda_follows_its_beta_distribution():
    t = aug.Mixup(alpha=0.4)
    rng = np.random.default_rng(0)
    lams = [t.randomize_parameters(8, rng)["lam"] for _ in range(4000)]
    # Beta(0.4, 0.4): mean 0.5, variance 1/(4 (2 alpha + 1)) = 0.1389, mass near the ends.
    assert np.mean(lams) == pytest.approx(0.5, abs=0.02)
    assert np.var(lams) == pytest.approx(1 / (4 * 1.8), abs=0.01)


def test_cutmix_pastes_one_time_span_and_weights_labels_by_its_share():
    x = _spectrograms(batch=3, time=50)
    soft_in = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    t = aug.CutMix(alpha=1.0)
    out, soft = t(x, soft_in, np.random.default_rng(5))
    d = t.parameters
    span = slice(d["start"], d["start"] + d["width"])
    assert d["width"] == round((1 - d["lam"]) * 50) and d["share"] == d["width"] / 50 > 0
    for i in range(3):
        assert np.array_equal(out[i][:, span], x[d["perm"][i]][:, span])
        outside = np.ones(50, dtype=bool)
        outside[span] = False
        assert np.array_equal(out[i][:, outside], x[i][:, outside])
        assert np.allclose(soft[i], (1 - d["share"]) * soft_in[i] + d["share"] * soft_in[d["perm"][i]])
    assert np.allclose(soft.sum(axis=1), 1.0)


def test_cutmix_works_on_piano_rolls_of_uint8():
    rolls = np.random.default_rng(2).integers(0, 128, size=(4, 128, 30)).astype(np.uint8)
    out, soft = aug.CutMix()(rolls, np.array([0, 1, 0, 1]), np.random.default_rng(9), num_classes=2)
    assert out.dtype == np.uint8 and out.shape == rolls.shape and soft.shape == (4, 2)


def test_reverb_output_is_the_dry_wet_mix_of_the_convolution_with_its_impulse_response():
    rate = 8000
    x = np.random.default_rng(4).normal(size=(2, rate // 2))
    t = aug.Reverb(rt60_s=(0.1, 0.3), wet=(0.2, 0.6), p=1.0)
    out = t(x, rate, np.random.default_rng(8))
    for i, drawn in enumerate(t.parameters["examples"]):
        ir = drawn["ir"]
        assert len(ir) == round(drawn["rt60_s"] * rate) and np.sum(ir * ir) == pytest.approx(1.0)
        expected = (1 - drawn["wet"]) * x[i] + drawn["wet"] * np.convolve(x[i], ir)[: x.shape[1]]
        assert np.allclose(out[i], expected, atol=1e-9)


def test_reverb_uses_a_supplied_impulse_response_as_given():
    ir = np.array([0.0, 0.5, 0.0, 0.25])
    x = np.array([1.0, 0.0, 0.0, 0.0, 0.0, 2.0])
    t = aug.Reverb(impulse_response=ir, wet=(1.0, 1.0), p=1.0)
    assert np.allclose(t(x, 100, np.random.default_rng(0)), np.convolve(x, ir)[:6])


def test_generated_impulse_response_decays_sixty_db_over_its_rt60():
    rate, rt60 = 16000, 0.5
    ir = aug.impulse_response(rt60, rate, np.random.default_rng(0))
    first, last = ir[: rate // 20], ir[-rate // 20:]
    drop_db = 10 * np.log10(np.mean(first**2) / np.mean(last**2))
    assert drop_db == pytest.approx(60 * 0.9, abs=3)  # the windows' centres are 0.9 x rt60 apart


def _tone(level_db: float, seconds: float, rate: int, freq: float = 1000.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return 10 ** (level_db / 20) * np.sin(2 * np.pi * freq * t)


def _peak_db(x: np.ndarray) -> float:
    return 20 * np.log10(np.max(np.abs(x)))


def test_compression_reduces_levels_and_the_crest_factor_as_the_ratio_predicts():
    rate, T, R = 16000, -30.0, 4.0
    loud, quiet = -6.0, -18.0  # both above the threshold: 12 dB apart before, 12 / R after
    x = np.concatenate([_tone(loud, 0.5, rate), _tone(quiet, 0.5, rate)])
    t = aug.Compressor(threshold_db=(T, T), ratio=(R, R), attack_ms=(1, 1), release_ms=(20, 20), p=1.0)
    out = t(x, rate, np.random.default_rng(0))
    settled = slice(int(0.3 * rate), int(0.5 * rate))  # the last 200 ms of each half
    out_loud, out_quiet = _peak_db(out[settled]), _peak_db(out[int(0.5 * rate):][settled])
    assert out_loud == pytest.approx(T + (loud - T) / R, abs=0.2)
    assert out_quiet == pytest.approx(T + (quiet - T) / R, abs=0.2)
    # Crest factor (peak over RMS) of the two steady parts together: the levels above predict it.
    def crest_db(a, b):
        both = np.concatenate([a, b])
        return 20 * np.log10(np.max(np.abs(both)) / np.sqrt(np.mean(both**2)))

    def predicted_crest_db(level_a, level_b):  # sines of equal length: mean square a^2 / 2 each
        a, b = 10 ** (level_a / 20), 10 ** (level_b / 20)
        return 20 * np.log10(max(a, b) / np.sqrt((a**2 + b**2) / 4))

    before = crest_db(x[settled], x[int(0.5 * rate):][settled])
    after = crest_db(out[settled], out[int(0.5 * rate):][settled])
    assert before == pytest.approx(predicted_crest_db(loud, quiet), abs=0.05)
    assert after == pytest.approx(predicted_crest_db(T + (loud - T) / R, T + (quiet - T) / R), abs=0.25)
    assert after < before - 1.0


def test_compression_leaves_a_signal_below_the_threshold_unchanged():
    x = _tone(-40.0, 0.2, 8000)
    out = aug.Compressor(threshold_db=(-20, -20), p=1.0)(x, 8000, np.random.default_rng(0))
    assert np.allclose(out, x)


@pytest.mark.parametrize(("a", "b", "ok"), [
    ((0, False), (0, False), True),    # same key
    ((0, False), (9, True), True),     # C major / A minor: relative
    ((9, True), (0, False), True),
    ((0, False), (7, False), True),    # C / G major: a fifth up
    ((0, False), (5, False), True),    # C / F major: a fifth down
    ((9, True), (4, True), True),      # A / E minor
    ((0, False), (0, True), False),    # parallel minor
    ((0, False), (2, False), False),
    ((0, False), (6, False), False),   # tritone
    ((0, False), (4, True), False),    # C major / E minor
])
def test_keys_are_compatible_only_when_the_same_relative_or_a_fifth_apart(a, b, ok):
    assert aug.keys_compatible(a, b) is ok


def test_harmonic_mixing_refuses_incompatible_keys():
    with pytest.raises(ValueError, match="not compatible"):
        aug.mix_pair(np.ones(4), np.zeros(4), (0, False), (2, False), 0.3)
    assert np.allclose(aug.mix_pair(np.ones(4), np.zeros(4), (0, False), (7, False), 0.25), 0.75)


def test_harmonic_mix_pairs_only_compatible_examples_and_mixes_labels_by_the_weight():
    rng = np.random.default_rng(21)
    x = rng.normal(size=(5, 100))
    keys = [(0, False), (7, False), (2, False), (9, True), (6, False)]  # C, G, D, Am, F#: F# has no partner
    y = np.array([0, 1, 2, 0, 1])
    t = aug.HarmonicMix(weight=(0.2, 0.5), p=1.0)
    out, soft = t(x, y, keys, np.random.default_rng(3), num_classes=3)
    onehot = aug.soft_targets(y, 3)
    partners = 0
    for i, drawn in enumerate(t.parameters["examples"]):
        j = drawn["partner"]
        if j is None:
            assert not any(aug.keys_compatible(keys[i], k) for n, k in enumerate(keys) if n != i)
            assert np.array_equal(out[i], x[i]) and np.array_equal(soft[i], onehot[i])
            continue
        partners += 1
        w = drawn["weight"]
        assert j != i and aug.keys_compatible(keys[i], keys[j]) and 0.2 <= w <= 0.5
        assert np.allclose(out[i], (1 - w) * x[i] + w * x[j])
        assert np.allclose(soft[i], (1 - w) * onehot[i] + w * onehot[j])
    assert partners >= 3 and t.parameters["examples"][4]["partner"] is None
    assert np.allclose(soft.sum(axis=1), 1.0)


def test_keys_come_from_the_feature_columns():
    columns = ["tempo_bpm", "key_tonic", "mode_minor"]
    assert aug.keys_from_features(np.array([[120.0, 9.0, 1.0], [90.0, 2.0, 0.0]]), columns) == [(9, True), (2, False)]


def test_same_generator_state_draws_the_same_parameters_and_output():
    x = _spectrograms()
    a, b = aug.SpecAugment(), aug.SpecAugment()
    assert np.array_equal(a(x, np.random.default_rng(5)), b(x, np.random.default_rng(5)))
    assert a.parameters == b.parameters
    c = aug.SpecAugment()
    c(x, np.random.default_rng(6))
    assert c.parameters != a.parameters


@pytest.mark.parametrize(("make", "message"), [
    (lambda: aug.SpecAugment(p=1.5), "p must be a probability"),
    (lambda: aug.SpecAugment(mask_value="max"), "mask_value must be 'mean' or 'zero'"),
    (lambda: aug.Mixup(alpha=0), "alpha must be a number > 0"),
    (lambda: aug.Reverb(wet=(0.8, 0.2)), "wet must be a .min, max. pair with min <= max"),
    (lambda: aug.Compressor(ratio=(0.5, 2)), "ratio must be a .min, max. pair"),
    (lambda: aug.HarmonicMix(weight=(0.1,)), "weight must be a .min, max. pair"),
])
def test_bad_ranges_fail_naming_the_parameter(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_a_transform_needs_a_numpy_generator():
    with pytest.raises(TypeError, match=r"numpy\.random\.Generator"):
        aug.SpecAugment()(_spectrograms(), 42)


def test_online_transforms_that_repeat_the_offline_policy_are_refused():
    policy = {"multiplier": 3, "seed": 42, "midi": {"transpose_semitones": [-5, 6]}, "audio": {"gain_db": [-6, 3]}}
    aug.check_not_offline(policy, [aug.SpecAugment(), aug.Mixup(), aug.Reverb(), aug.Compressor(), aug.CutMix(),
                                   aug.HarmonicMix()])
    with pytest.raises(ValueError, match="transpose_semitones is applied offline already"):
        aug.check_not_offline(policy, ["transpose_semitones"])
    aug.check_not_offline({"multiplier": 0, "seed": 42}, ["transpose_semitones"])  # nothing offline


def test_the_original_module_path_holds_the_same_transforms():
    assert ml_augmentation.SpecAugment is aug.SpecAugment and ml_augmentation.HarmonicMix is aug.HarmonicMix


def test_docstring_examples_run():
    import doctest

    result = doctest.testmod(aug, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
