"""From a dataset version to training batches: stream a split's export, decoded, shuffled, shared by workers.

``load_split`` gives a split's feature table in one call; :class:`SplitStream`
streams its samples (piano rolls, MIDI objects, audio arrays) with their
features and labels; :class:`TorchSplitDataset` wraps a stream for
``torch.utils.data.DataLoader`` when PyTorch is installed; the
:mod:`~penta_core.training.augmentation` module holds the training-time
transforms. Also importable as ``penta_core.ml.training``, the original
project's path.
"""
from __future__ import annotations

from typing import Any

from penta_core.dataset import SplitData, load_split
from penta_core.training.decode import decode_audio, decode_midi, piano_roll
from penta_core.training.stream import Example, SplitStream, export_folder, shuffle_buffer

__all__ = ["Example", "SplitData", "SplitStream", "TorchSplitDataset", "decode_audio", "decode_midi",
           "export_folder", "load_split", "piano_roll", "shuffle_buffer"]


def __getattr__(name: str) -> Any:
    # The PyTorch adapter imports torch: only when asked for.
    if name == "TorchSplitDataset":
        try:
            from penta_core.training.torch_dataset import TorchSplitDataset
        except ModuleNotFoundError as err:
            if err.name != "torch":
                raise
            raise ImportError("TorchSplitDataset needs PyTorch: pip install torch "
                              "(or penta_core[torch]); SplitStream works without it") from None
        return TorchSplitDataset
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
