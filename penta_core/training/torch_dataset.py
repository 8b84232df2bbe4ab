"""A PyTorch ``IterableDataset`` over a :class:`~penta_core.training.stream.SplitStream` (needs torch).

Each DataLoader worker reads its own share of the split (from
``torch.utils.data.get_worker_info()``, and the process's rank when
``torch.distributed`` is initialised), so every sample is seen exactly once
per epoch whatever ``num_workers`` is. numpy arrays (piano rolls, audio,
features) become tensors in the DataLoader's default collate; MIDI objects
(``midi="score"``) need a ``collate_fn`` of your own.

Example
-------
>>> from torch.utils.data import DataLoader  # doctest: +SKIP
>>> data = TorchSplitDataset(SplitStream("datasets/emotion_dataset_v1", "train", kinds=("midi",)))  # doctest: +SKIP
>>> loader = DataLoader(data, batch_size=32, num_workers=4)  # doctest: +SKIP
>>> for epoch in range(10):  # doctest: +SKIP
...     data.set_epoch(epoch)
...     for rolls, features, labels in loader: ...
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch.utils.data import IterableDataset, get_worker_info

from penta_core.training.stream import Example, SplitStream


class TorchSplitDataset(IterableDataset):
    """``stream``'s examples, shared among the DataLoader's workers and distributed ranks.

    Parameters
    ----------
    stream : what to read; ``worker``/``num_workers`` are set here, ``rank``/``world_size`` too when
        ``torch.distributed`` is initialised (else the stream's own are kept).
    transform : applied to each :class:`Example` in the worker (e.g. cropping a piano roll to a fixed length).
    """

    def __init__(self, stream: SplitStream, transform: Callable[[Example], Any] | None = None) -> None:
        super().__init__()
        self.stream = stream
        self.transform = transform

    def set_epoch(self, epoch: int) -> None:
        """Use the shuffles of ``epoch`` (call before iterating the DataLoader each epoch)."""
        self.stream.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.stream)

    def __iter__(self) -> Iterator[Any]:
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        stream = self.stream.for_reader(worker, workers)
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            stream.rank, stream.world_size = torch.distributed.get_rank(), torch.distributed.get_world_size()
        for example in stream:
            yield self.transform(example) if self.transform is not None else example
