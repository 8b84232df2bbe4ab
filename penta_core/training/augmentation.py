"""Training-time (online) augmentation: batch transforms on numpy arrays, seeded by a generator you pass.

Six transforms, each a small class in the style of audiomentations: the
constructor takes ranges and validates them (``ValueError`` naming the
parameter), :meth:`randomize_parameters` draws from the ``numpy.random.Generator``
passed in and keeps what it drew in ``.parameters``, and :meth:`apply` uses
exactly those values, so a batch can be replayed. Each applies with
probability ``p`` (per example, or per batch for Mixup and CutMix).

========================  =======================================  ======================
transform                 input                                    labels
========================  =======================================  ======================
:class:`SpecAugment`      spectrograms / piano rolls ``(B, F, T)``  unchanged
:class:`Mixup`            any ``(B, ...)``                          mixed by λ
:class:`CutMix`           spectrograms / piano rolls ``(B, F, T)``  mixed by the span's share
:class:`Reverb`           audio ``(B, N)`` or ``(B, C, N)``        unchanged
:class:`Compressor`       audio ``(B, N)`` or ``(B, C, N)``        unchanged
:class:`HarmonicMix`      any ``(B, ...)`` + each example's key     mixed by the weight
========================  =======================================  ======================

Labels are class ids ``(B,)`` with ``num_classes``, or soft targets
``(B, classes)``; mixing transforms return soft targets summing to 1.

These belong to the trainer, per batch; the dataset's own augmentation
(transposition, tempo, velocity, ... on MIDI; pitch, speed, noise, gain on
audio) is applied offline by the augment stage and recorded in the manifest
(``augmentation.offline`` and each variant's ``transform``):
:func:`check_not_offline` refuses an online transform the version already applied.

Example
-------
>>> rng = np.random.default_rng(0)
>>> spec = np.ones((4, 64, 100))
>>> masked = SpecAugment(max_freq_width=8, max_time_width=10)(spec, rng)
>>> x, y = Mixup(alpha=0.4)(spec, np.array([0, 1, 2, 3]), rng, num_classes=4)
>>> y.sum(axis=1)
array([1., 1., 1., 1.])
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np


def _check_p(p: float) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be a probability in [0, 1], got {p!r}")
    return float(p)


def _check_range(name: str, value: Sequence[float], lo: float, hi: float, *, open_lo: bool = False
                 ) -> tuple[float, float]:
    try:
        a, b = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a (min, max) pair, got {value!r}") from None
    low_ok = (a > lo) if open_lo else (a >= lo)
    if not (low_ok and b <= hi and a <= b):
        bound = f"{'>' if open_lo else '>='} {lo:g}"
        raise ValueError(f"{name} must be a (min, max) pair with min <= max, min {bound} and max <= {hi:g}, "
                         f"got {value!r}")
    return a, b


def _check_int(name: str, value: int, lo: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo:
        raise ValueError(f"{name} must be an integer >= {lo}, got {value!r}")
    return int(value)


def _check_rng(rng: Any) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator (numpy.random.default_rng(seed)), got {type(rng)}")
    return rng


def soft_targets(y: np.ndarray, num_classes: int | None = None) -> np.ndarray:
    """Labels as float64 soft targets ``(B, classes)``: class ids one-hot encoded, soft targets as they are.

    Example
    -------
    >>> soft_targets(np.array([2, 0]), 3)
    array([[0., 0., 1.],
           [1., 0., 0.]])
    """
    y = np.asarray(y)
    if y.ndim == 2:
        return y.astype(np.float64)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"labels must be class ids (B,) or soft targets (B, classes), got shape {y.shape}")
    if num_classes is None:
        raise ValueError("num_classes is needed to mix class ids")
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"class ids must be in [0, {num_classes}), got {y.min()}..{y.max()}")
    out = np.zeros((len(y), num_classes))
    out[np.arange(len(y)), y] = 1.0
    return out


class BatchTransform:
    """Base: probability ``p``, drawn values in ``parameters`` (empty until the first draw)."""

    name = ""

    def __init__(self, p: float) -> None:
        self.p = _check_p(p)
        self.parameters: dict[str, Any] = {}

    def __repr__(self) -> str:
        shown = {k: v for k, v in vars(self).items() if k != "parameters"}
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in shown.items())})"


class SpecAugment(BatchTransform):
    """Frequency and time masks on spectrograms or piano rolls (Park et al., 2019).

    Per example (with probability ``p``): ``freq_masks`` bands of a width drawn
    in ``[0, max_freq_width]`` at a start drawn so the band fits, and
    ``time_masks`` spans likewise, are set to ``mask_value``: ``mean`` (the
    example's mean before masking) or ``zero``. Nothing else changes.

    Parameters drawn (``parameters``): per example ``apply``, ``freq`` and
    ``time`` as lists of ``(start, width)``, and ``value``.
    """

    name = "spec_augment"

    def __init__(self, freq_masks: int = 2, max_freq_width: int = 27, time_masks: int = 2,
                 max_time_width: int = 40, mask_value: str = "mean", p: float = 1.0) -> None:
        super().__init__(p)
        self.freq_masks = _check_int("freq_masks", freq_masks)
        self.max_freq_width = _check_int("max_freq_width", max_freq_width)
        self.time_masks = _check_int("time_masks", time_masks)
        self.max_time_width = _check_int("max_time_width", max_time_width)
        if mask_value not in ("mean", "zero"):
            raise ValueError(f"mask_value must be 'mean' or 'zero', got {mask_value!r}")
        self.mask_value = mask_value

    @staticmethod
    def _as_batch(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim not in (2, 3):
            raise ValueError(f"SpecAugment takes (freq, time) or (batch, freq, time), got shape {x.shape}")
        return x[None] if x.ndim == 2 else x

    def randomize_parameters(self, x: np.ndarray, rng: np.random.Generator) -> dict[str, Any]:
        batch = self._as_batch(x)
        _check_rng(rng)
        examples = []
        _, n_freq, n_time = batch.shape
        for example in batch:
            apply = bool(rng.random() < self.p)
            drawn: dict[str, Any] = {"apply": apply, "freq": [], "time": [], "value": 0.0}
            if apply:
                for axis, count, widest, size in (("freq", self.freq_masks, self.max_freq_width, n_freq),
                                                  ("time", self.time_masks, self.max_time_width, n_time)):
                    for _ in range(count):
                        width = int(rng.integers(0, min(widest, size) + 1))
                        drawn[axis].append((int(rng.integers(0, size - width + 1)), width))
                drawn["value"] = float(example.mean()) if self.mask_value == "mean" else 0.0
            examples.append(drawn)
        self.parameters = {"examples": examples}
        return self.parameters

    def apply(self, x: np.ndarray) -> np.ndarray:
        """``x`` with the drawn masks (a new array; ``x`` is left alone)."""
        single = np.asarray(x).ndim == 2
        out = self._as_batch(x).copy()
        for example, drawn in zip(out, self.parameters["examples"], strict=True):
            for start, width in drawn["freq"]:
                example[start:start + width, :] = drawn["value"]
            for start, width in drawn["time"]:
                example[:, start:start + width] = drawn["value"]
        return out[0] if single else out

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        self.randomize_parameters(x, rng)
        return self.apply(x)


class Mixup(BatchTransform):
    """Mixup (Zhang et al., 2018): each example mixed with another of the batch, λ ~ Beta(α, α).

    With probability ``p`` per batch: ``x' = λ x + (1 − λ) x[perm]`` and
    ``y' = λ y + (1 − λ) y[perm]`` (soft targets), one λ and one permutation
    ``perm`` for the batch. Parameters drawn: ``apply``, ``lam``, ``perm``.
    """

    name = "mixup"

    def __init__(self, alpha: float = 0.4, p: float = 1.0) -> None:
        super().__init__(p)
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not alpha > 0:
            raise ValueError(f"alpha must be a number > 0, got {alpha!r}")
        self.alpha = float(alpha)

    def randomize_parameters(self, batch_size: int, rng: np.random.Generator) -> dict[str, Any]:
        _check_rng(rng)
        apply = bool(rng.random() < self.p)
        lam = float(rng.beta(self.alpha, self.alpha)) if apply else 1.0
        perm = rng.permutation(batch_size) if apply else np.arange(batch_size)
        self.parameters = {"apply": apply, "lam": lam, "perm": perm}
        return self.parameters

    def apply(self, x: np.ndarray, y: np.ndarray, num_classes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        lam, perm = self.parameters["lam"], self.parameters["perm"]
        x = np.asarray(x)
        soft = soft_targets(y, num_classes)
        if not self.parameters["apply"]:
            return x.copy(), soft
        return lam * x + (1.0 - lam) * x[perm], lam * soft + (1.0 - lam) * soft[perm]

    def __call__(self, x: np.ndarray, y: np.ndarray, rng: np.random.Generator,
                 num_classes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        self.randomize_parameters(len(x), rng)
        return self.apply(x, y, num_classes)


class CutMix(BatchTransform):
    """CutMix along time (Yun et al., 2019) for spectrograms and piano rolls ``(B, F, T)``.

    With probability ``p`` per batch: λ ~ Beta(α, α); a span of
    ``width = round((1 − λ) T)`` frames at a start drawn so it fits is pasted
    from example ``perm[i]`` into example ``i``, and labels are mixed by the
    span's share of the time axis, ``share = width / T``:
    ``y' = (1 − share) y + share y[perm]``. Parameters drawn: ``apply``,
    ``lam``, ``start``, ``width``, ``share``, ``perm``.
    """

    name = "cutmix"

    def __init__(self, alpha: float = 1.0, p: float = 1.0) -> None:
        super().__init__(p)
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not alpha > 0:
            raise ValueError(f"alpha must be a number > 0, got {alpha!r}")
        self.alpha = float(alpha)

    def randomize_parameters(self, x: np.ndarray, rng: np.random.Generator) -> dict[str, Any]:
        x = np.asarray(x)
        if x.ndim < 2:
            raise ValueError(f"CutMix takes (batch, ..., time) arrays, got shape {x.shape}")
        _check_rng(rng)
        n_time = x.shape[-1]
        apply = bool(rng.random() < self.p)
        lam = float(rng.beta(self.alpha, self.alpha)) if apply else 1.0
        width = round((1.0 - lam) * n_time) if apply else 0
        start = int(rng.integers(0, n_time - width + 1)) if apply else 0
        perm = rng.permutation(len(x)) if apply else np.arange(len(x))
        self.parameters = {"apply": apply, "lam": lam, "start": start, "width": int(width),
                           "share": width / n_time if n_time else 0.0, "perm": perm}
        return self.parameters

    def apply(self, x: np.ndarray, y: np.ndarray, num_classes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        drawn = self.parameters
        out = np.array(x, copy=True)
        soft = soft_targets(y, num_classes)
        if not drawn["apply"]:
            return out, soft
        span = slice(drawn["start"], drawn["start"] + drawn["width"])
        out[..., span] = np.asarray(x)[drawn["perm"]][..., span]
        share = drawn["share"]
        return out, (1.0 - share) * soft + share * soft[drawn["perm"]]

    def __call__(self, x: np.ndarray, y: np.ndarray, rng: np.random.Generator,
                 num_classes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        self.randomize_parameters(x, rng)
        return self.apply(x, y, num_classes)


def _audio_batch(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim not in (1, 2, 3):
        raise ValueError(f"audio must be (frames,), (batch, frames) or (batch, channels, frames), got {x.shape}")
    return x[None] if x.ndim == 1 else x


def impulse_response(rt60_s: float, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """A synthetic room impulse response: Gaussian noise under an exponential decay of 60 dB in ``rt60_s``,
    ``rt60_s`` long, scaled to unit energy.
    """
    n = max(1, round(rt60_s * sample_rate))
    t = np.arange(n) / sample_rate
    ir = rng.standard_normal(n) * np.exp(-math.log(1000.0) * t / rt60_s)
    return ir / np.sqrt(np.sum(ir * ir))


def convolve_head(x: np.ndarray, ir: np.ndarray) -> np.ndarray:
    """The first ``x.shape[-1]`` samples of the full convolution of ``x`` (last axis) with ``ir`` (by FFT)."""
    n = x.shape[-1]
    size = 1 << max(0, (n + len(ir) - 2)).bit_length()  # a power of two >= the full length n + len(ir) - 1
    spectrum = np.fft.rfft(x, size, axis=-1) * np.fft.rfft(ir, size)
    return np.fft.irfft(spectrum, size, axis=-1)[..., :n]


class Reverb(BatchTransform):
    """Reverberation: ``y = (1 − wet) x + wet (x * h)[:N]``, the convolution with an impulse response ``h``.

    Per example (probability ``p``): ``wet`` drawn in ``wet``; ``h`` is the
    supplied ``impulse_response``, or one generated by
    :func:`impulse_response` with ``rt60_s`` drawn in ``rt60_s``. The output
    keeps the input's length (the tail past it is cut). Parameters drawn:
    per example ``apply``, ``wet``, ``rt60_s`` (``None`` when supplied) and ``ir``.
    """

    name = "reverb"

    def __init__(self, rt60_s: Sequence[float] = (0.2, 1.0), wet: Sequence[float] = (0.1, 0.5),
                 impulse_response: np.ndarray | None = None, p: float = 0.5) -> None:
        super().__init__(p)
        self.rt60_s = _check_range("rt60_s", rt60_s, 0.0, 10.0, open_lo=True)
        self.wet = _check_range("wet", wet, 0.0, 1.0)
        if impulse_response is not None:
            impulse_response = np.asarray(impulse_response, dtype=np.float64)
            if impulse_response.ndim != 1 or not impulse_response.size or \
                    not np.all(np.isfinite(impulse_response)):
                raise ValueError("impulse_response must be a non-empty 1-D array of finite numbers")
        self.impulse_response = impulse_response

    def randomize_parameters(self, x: np.ndarray, sample_rate: int, rng: np.random.Generator) -> dict[str, Any]:
        batch = _audio_batch(x)
        _check_rng(rng)
        _check_int("sample_rate", sample_rate, 1)
        examples = []
        for _ in range(len(batch)):
            apply = bool(rng.random() < self.p)
            drawn: dict[str, Any] = {"apply": apply, "wet": 0.0, "rt60_s": None, "ir": None}
            if apply:
                drawn["wet"] = float(rng.uniform(*self.wet))
                if self.impulse_response is None:
                    drawn["rt60_s"] = float(rng.uniform(*self.rt60_s))
                    drawn["ir"] = impulse_response(drawn["rt60_s"], sample_rate, rng)
                else:
                    drawn["ir"] = self.impulse_response
            examples.append(drawn)
        self.parameters = {"examples": examples}
        return self.parameters

    def apply(self, x: np.ndarray) -> np.ndarray:
        single = np.asarray(x).ndim == 1
        batch = _audio_batch(x)
        out = batch.astype(np.result_type(batch.dtype, np.float32), copy=True)
        for i, drawn in enumerate(self.parameters["examples"]):
            if drawn["apply"]:
                wet = convolve_head(batch[i], drawn["ir"])
                out[i] = (1.0 - drawn["wet"]) * batch[i] + drawn["wet"] * wet
        return out[0] if single else out

    def __call__(self, x: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
        self.randomize_parameters(x, sample_rate, rng)
        return self.apply(x)


def _smooth_gain_reduction(target_db: np.ndarray, attack: float, release: float) -> np.ndarray:
    """Branching one-pole smoother (attack while the reduction grows, release while it shrinks)."""
    out = np.empty_like(target_db)
    state = 0.0
    for i, value in enumerate(target_db.tolist()):
        coeff = attack if value > state else release
        state = coeff * state + (1.0 - coeff) * value
        out[i] = state
    return out


class Compressor(BatchTransform):
    """Dynamic range compression: a feed-forward compressor with a hard knee (Giannoulis et al., 2012).

    Above ``threshold_db`` the level rises ``1 / ratio`` dB per input dB: a
    steady signal at ``L`` dBFS comes out at ``T + (L − T) / ratio`` (plus
    ``makeup_db``); below the threshold it passes unchanged. The level is the
    peak of each block of about 1 ms (every channel together); the gain
    reduction follows it with time constants ``attack_ms`` (reduction
    growing) and ``release_ms`` (shrinking) and is interpolated per sample.
    Per example (probability ``p``), threshold, ratio, attack and release
    are drawn in their ranges; parameters drawn: per example ``apply``,
    ``threshold_db``, ``ratio``, ``attack_ms``, ``release_ms``.
    """

    name = "compressor"

    def __init__(self, threshold_db: Sequence[float] = (-30.0, -10.0), ratio: Sequence[float] = (2.0, 8.0),
                 attack_ms: Sequence[float] = (1.0, 10.0), release_ms: Sequence[float] = (50.0, 200.0),
                 makeup_db: float = 0.0, p: float = 0.5) -> None:
        super().__init__(p)
        self.threshold_db = _check_range("threshold_db", threshold_db, -120.0, 0.0)
        self.ratio = _check_range("ratio", ratio, 1.0, 1000.0)
        self.attack_ms = _check_range("attack_ms", attack_ms, 0.0, 1000.0, open_lo=True)
        self.release_ms = _check_range("release_ms", release_ms, 0.0, 10000.0, open_lo=True)
        if isinstance(makeup_db, bool) or not isinstance(makeup_db, (int, float)) or not -60 <= makeup_db <= 60:
            raise ValueError(f"makeup_db must be a number in [-60, 60], got {makeup_db!r}")
        self.makeup_db = float(makeup_db)

    def randomize_parameters(self, x: np.ndarray, rng: np.random.Generator) -> dict[str, Any]:
        batch = _audio_batch(x)
        _check_rng(rng)
        examples = []
        for _ in range(len(batch)):
            apply = bool(rng.random() < self.p)
            drawn: dict[str, Any] = {"apply": apply}
            if apply:
                drawn.update({name: float(rng.uniform(*getattr(self, name)))
                              for name in ("threshold_db", "ratio", "attack_ms", "release_ms")})
            examples.append(drawn)
        self.parameters = {"examples": examples}
        return self.parameters

    def gain_db(self, signal: np.ndarray, sample_rate: int, threshold_db: float, ratio: float, attack_ms: float,
                release_ms: float) -> np.ndarray:
        """The gain in dB applied to each sample of ``signal`` (``(frames,)`` or ``(channels, frames)``)."""
        frames = signal.shape[-1]
        block = max(1, round(sample_rate / 1000))
        n_blocks = -(-frames // block)
        padded = np.zeros(signal.shape[:-1] + (n_blocks * block,))
        padded[..., :frames] = np.abs(signal)
        peak = padded.reshape(-1, n_blocks, block).max(axis=(0, 2))
        level_db = 20.0 * np.log10(np.maximum(peak, 1e-10))
        target = np.maximum(level_db - threshold_db, 0.0) * (1.0 - 1.0 / ratio)
        rate = sample_rate / block
        reduction = _smooth_gain_reduction(target, math.exp(-1000.0 / (attack_ms * rate)),
                                           math.exp(-1000.0 / (release_ms * rate)))
        centres = (np.arange(n_blocks) + 0.5) * block
        return self.makeup_db - np.interp(np.arange(frames), centres, reduction)

    def apply(self, x: np.ndarray, sample_rate: int) -> np.ndarray:
        single = np.asarray(x).ndim == 1
        batch = _audio_batch(x)
        out = batch.astype(np.result_type(batch.dtype, np.float32), copy=True)
        for i, drawn in enumerate(self.parameters["examples"]):
            if drawn["apply"]:
                gain = self.gain_db(batch[i], sample_rate, drawn["threshold_db"], drawn["ratio"],
                                    drawn["attack_ms"], drawn["release_ms"])
                out[i] = batch[i] * 10.0 ** (gain / 20.0)
        return out[0] if single else out

    def __call__(self, x: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
        self.randomize_parameters(x, rng)
        return self.apply(x, sample_rate)


# Keys are (tonic pitch class 0-11, minor) pairs, as the features' `key_tonic` and `mode_minor` columns give them.
Key = tuple[int, bool]


def keys_compatible(a: Key, b: Key) -> bool:
    """Whether two keys mix well: the same key, relative major and minor, or a fifth apart in the same mode.

    Example
    -------
    >>> keys_compatible((0, False), (9, True))   # C major, A minor: relative
    True
    >>> keys_compatible((0, False), (7, False))  # C major, G major: a fifth
    True
    >>> keys_compatible((0, False), (2, False))  # C major, D major
    False
    """
    (ta, ma), (tb, mb) = (int(a[0]) % 12, bool(a[1])), (int(b[0]) % 12, bool(b[1]))
    if ma == mb:
        return (tb - ta) % 12 in (0, 5, 7)
    major, minor = (ta, tb) if not ma else (tb, ta)
    return (major + 9) % 12 == minor


def keys_from_features(features: np.ndarray, columns: Sequence[str]) -> list[Key]:
    """Each row's key from the feature columns ``key_tonic`` and ``mode_minor``.

    Example
    -------
    >>> keys_from_features(np.array([[7.0, 1.0]]), ["key_tonic", "mode_minor"])
    [(7, True)]
    """
    features = np.atleast_2d(np.asarray(features))
    columns = list(columns)
    try:
        tonic, minor = columns.index("key_tonic"), columns.index("mode_minor")
    except ValueError:
        raise ValueError("the feature columns hold no key_tonic and mode_minor") from None
    return [(int(np.rint(row[tonic])) % 12, bool(row[minor] >= 0.5)) for row in features]


def mix_pair(a: np.ndarray, b: np.ndarray, key_a: Key, key_b: Key, weight: float) -> np.ndarray:
    """``(1 − weight) a + weight b``, refusing keys that clash.

    Raises
    ------
    ValueError : the keys are not compatible (see :func:`keys_compatible`).
    """
    if not keys_compatible(key_a, key_b):
        raise ValueError(f"keys {key_a} and {key_b} are not compatible: same key, relative or a fifth apart only")
    return (1.0 - weight) * np.asarray(a) + weight * np.asarray(b)


class HarmonicMix(BatchTransform):
    """Mix each example with another of the batch in a compatible key (see :func:`keys_compatible`).

    Per example (probability ``p``): a partner is drawn among the other
    examples whose key is compatible (none: the example is left as it is,
    ``partner`` ``None``), and a weight ``w`` in ``weight``:
    ``x' = (1 − w) x + w x[partner]``, ``y' = (1 − w) y + w y[partner]``.
    Parameters drawn: per example ``apply``, ``partner``, ``weight``.
    """

    name = "harmonic_mix"

    def __init__(self, weight: Sequence[float] = (0.2, 0.5), p: float = 0.5) -> None:
        super().__init__(p)
        self.weight = _check_range("weight", weight, 0.0, 1.0)

    def randomize_parameters(self, keys: Sequence[Key], rng: np.random.Generator) -> dict[str, Any]:
        _check_rng(rng)
        examples = []
        for i, key in enumerate(keys):
            apply = bool(rng.random() < self.p)
            drawn: dict[str, Any] = {"apply": apply, "partner": None, "weight": 0.0}
            if apply:
                choices = [j for j, other in enumerate(keys) if j != i and keys_compatible(key, other)]
                if choices:
                    drawn["partner"] = int(choices[int(rng.integers(len(choices)))])
                    drawn["weight"] = float(rng.uniform(*self.weight))
            examples.append(drawn)
        self.parameters = {"examples": examples, "keys": [(int(t) % 12, bool(m)) for t, m in keys]}
        return self.parameters

    def apply(self, x: np.ndarray, y: np.ndarray, num_classes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        x = np.asarray(x)
        soft = soft_targets(y, num_classes)
        out_x = x.astype(np.result_type(x.dtype, np.float32), copy=True)
        out_y = soft.copy()
        keys = self.parameters["keys"]
        for i, drawn in enumerate(self.parameters["examples"]):
            j = drawn["partner"]
            if j is not None:
                out_x[i] = mix_pair(x[i], x[j], keys[i], keys[j], drawn["weight"])
                out_y[i] = (1.0 - drawn["weight"]) * soft[i] + drawn["weight"] * soft[j]
        return out_x, out_y

    def __call__(self, x: np.ndarray, y: np.ndarray, keys: Sequence[Key], rng: np.random.Generator,
                 num_classes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        if len(keys) != len(x):
            raise ValueError(f"one key per example: {len(x)} examples, {len(keys)} keys")
        self.randomize_parameters(keys, rng)
        return self.apply(x, y, num_classes)


def offline_transforms(offline_policy: dict[str, Any] | None) -> set[str]:
    """Names of the transforms the augment stage applied, from the manifest's ``augmentation.offline``."""
    if not offline_policy or not offline_policy.get("multiplier"):
        return set()
    return {name for kind in ("midi", "audio") for name in offline_policy.get(kind, {})}


def check_not_offline(offline_policy: dict[str, Any] | None, online: Iterable[str | BatchTransform]) -> None:
    """Refuse online transforms that repeat what the dataset applied offline.

    The six transforms of this module never repeat an offline one; a trainer
    adding its own (an online transposition, a gain change) names it with the
    augment stage's name (``transpose_semitones``, ``gain_db``, ...).

    Parameters
    ----------
    offline_policy : the manifest's ``augmentation.offline`` (``None`` or multiplier 0: nothing offline).
    online : the trainer's online transforms, as names or transform objects.

    Raises
    ------
    ValueError : naming the transform applied both ways.

    Example
    -------
    >>> check_not_offline({"multiplier": 3, "midi": {"transpose_semitones": [-5, 6]}},
    ...                   ["transpose_semitones"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: transpose_semitones is applied offline already: this version's augmented samples carry it; ...
    """
    applied = offline_transforms(offline_policy)
    for transform in online:
        name = transform if isinstance(transform, str) else transform.name
        if name in applied:
            raise ValueError(f"{name} is applied offline already: this version's augmented samples carry it; "
                             "drop it online, or stream only originals (SplitStream(origins=('imported', "
                             "'synthetic')))")
