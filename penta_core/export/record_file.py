"""Records written once and read back by number, from an unnamed temporary file.

The export reads each record from the manifest once, when it plans the
splits; every format then reads it again, in its own order. A manifest line
is about 600 bytes of JSON holding every field of the sample, while the
export needs a dozen: :class:`RecordFile` keeps those, ``marshal``-ed (about
300 bytes, decoded three times as fast as the line), on disk rather than in
memory, so the export's memory does not grow with the version.
"""
from __future__ import annotations

import marshal
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np


class RecordFile:
    """Append records (tuples of str, int, float, None, lists and dicts), then :meth:`seal` and read them.

    Example
    -------
    >>> with RecordFile(Path(".")) as records:
    ...     records.append(("a", 1.5, None))
    ...     records.append(("b", {"x": 2}, None))
    ...     records.seal()
    ...     records.read([1, 0])
    [('b', {'x': 2}, None), ('a', 1.5, None)]
    """

    def __init__(self, folder: Path) -> None:
        self._file = tempfile.TemporaryFile(dir=folder)  # noqa: SIM115 (kept open until close())
        self._ends: list[int] = []
        self._end = 0
        self._offsets: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self._ends) if self._offsets is None else len(self._offsets) - 1

    def append(self, record: tuple) -> None:
        """Add ``record`` as the next number (0, 1, ...); before :meth:`seal`."""
        data = marshal.dumps(record)
        self._file.write(data)
        self._end += len(data)
        self._ends.append(self._end)

    def seal(self) -> None:
        """End the writing: the records can be read from now on."""
        self._file.flush()
        self._offsets = np.asarray([0, *self._ends], dtype=np.int64)
        self._ends = []

    def read(self, numbers: Sequence[int]) -> list[Any]:
        """The records ``numbers``, in that order (one read for a run of consecutive numbers)."""
        if self._offsets is None:
            raise RuntimeError("RecordFile.read before seal()")
        offsets, fd = self._offsets, self._file.fileno()
        if len(numbers) > 1 and list(numbers) == list(range(numbers[0], numbers[0] + len(numbers))):
            start = int(offsets[numbers[0]])
            block = os.pread(fd, int(offsets[numbers[-1] + 1]) - start, start)
            ends = offsets[numbers[0] + 1:numbers[-1] + 2] - start
            out, at = [], 0
            for end in ends.tolist():
                out.append(marshal.loads(block[at:end]))
                at = end
            return out
        return [marshal.loads(os.pread(fd, int(offsets[n + 1] - offsets[n]), int(offsets[n]))) for n in numbers]

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> RecordFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
