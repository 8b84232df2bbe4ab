"""The original project's import path for training code: the same objects as :mod:`penta_core.training`."""
from __future__ import annotations

from typing import Any

from penta_core import training as _training
from penta_core.training import (
    Example,
    SplitData,
    SplitStream,
    decode_audio,
    decode_midi,
    export_folder,
    load_split,
    piano_roll,
    shuffle_buffer,
)

__all__ = ["Example", "SplitData", "SplitStream", "TorchSplitDataset", "decode_audio", "decode_midi",
           "export_folder", "load_split", "piano_roll", "shuffle_buffer"]


def __getattr__(name: str) -> Any:
    return _training.__getattr__(name)  # TorchSplitDataset: imports torch only when asked for
