"""The original project's path for training-time augmentation: :mod:`penta_core.training.augmentation`."""
from penta_core.training.augmentation import (
    BatchTransform,
    Compressor,
    CutMix,
    HarmonicMix,
    Mixup,
    Reverb,
    SpecAugment,
    check_not_offline,
    impulse_response,
    keys_compatible,
    keys_from_features,
    mix_pair,
    offline_transforms,
    soft_targets,
)

__all__ = ["BatchTransform", "Compressor", "CutMix", "HarmonicMix", "Mixup", "Reverb", "SpecAugment",
           "check_not_offline", "impulse_response", "keys_compatible", "keys_from_features", "mix_pair",
           "offline_transforms", "soft_targets"]
