"""pyarrow's allocations during an export go to the C library's ``malloc``, which gives freed memory back.

pyarrow's default pool (mimalloc in the wheels) keeps what it has freed for
reuse: over an export that reads the feature parts and writes a Parquet row
group after another, the process held 50 MB more at its peak at 10,000
sources than it used, growing with the number of row groups. The bytes
written do not depend on the allocator.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def system_memory_pool() -> Iterator[None]:
    """Within the block, pyarrow's default memory pool is the system allocator; the previous one after.

    Example
    -------
    >>> with system_memory_pool():  # doctest: +SKIP
    ...     export_dataset(layout, params)
    """
    import pyarrow as pa

    previous = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        yield
    finally:
        pa.set_memory_pool(previous)
