"""One executor interface for the per-sample work of the heavy stages.

The import, augment, synthesize, features, families and targets stages hand
their per-sample function to :func:`parallel_map`; ``engine.executor`` picks
where it runs:

- ``local`` (the default): :func:`~penta_core.engine.parallel.supervised_map`,
  supervised processes on this machine;
- ``dask``: :func:`~penta_core.engine.dask_map.dask_map`, the workers of a Dask
  cluster (a ``LocalCluster`` started for the stage, or the scheduler
  ``engine.scheduler`` names).

Both yield ``(index, Outcome)`` as items finish, and give the same outcomes:
each sample's randomness is derived from the seed and its own id, never from
the worker that runs it, so where it runs does not change a byte. The engine
params are therefore no DVC params of any stage and are not written to any
output. Workers return values; only the stage process writes the dataset.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from penta_core.engine.parallel import Outcome, supervised_map

EXECUTORS = ("local", "dask")
ENGINE_DEFAULTS: dict[str, Any] = {"executor": "local", "scheduler": "", "workers": 0, "chunk_size": 0}


def parallel_map(
    func: Callable[[Any], Any],
    items: Iterable[Any],
    *,
    n_jobs: int = 1,
    timeout_s: float | None = None,
    desc: str | None = None,
    total: int | None = None,
    relative_to: Iterable[str | os.PathLike] = (),
    chunk_size: int | None = None,
    engine: dict[str, Any] | None = None,
    start_method: str = "spawn",
) -> Iterator[tuple[int, Outcome]]:
    """Yield ``(index, Outcome)`` for each item, in completion order, on the executor ``engine`` names.

    Parameters
    ----------
    func : a module-level function of one argument (pickled by name; a Dask
        worker must be able to import its module).
    items : any iterable; read lazily, a bounded number of chunks ahead of the results.
    n_jobs : local worker processes; also the size of a Dask ``LocalCluster``
        when ``engine.workers`` is 0.
    timeout_s : per-item limit; a slower item is reported failed and its worker replaced.
    desc, total : label and length of the progress bar (shown on a terminal only).
    relative_to : folders cut out of failure reasons, so reasons are the same on every machine.
    chunk_size : items per task; None takes ``engine.chunk_size`` (0: adaptive).
    start_method : how local workers start: ``"spawn"`` or ``"fork"`` (see
        :func:`~penta_core.engine.parallel.supervised_map`); Dask's workers are its own.
    engine : the ``engine`` params group (``executor``, ``scheduler``, ``workers``,
        ``chunk_size``); None or missing keys take :data:`ENGINE_DEFAULTS`.

    Example
    -------
    >>> results = dict(parallel_map(abs, [-1, 2], engine={"executor": "local"}))  # doctest: +SKIP
    """
    engine = {**ENGINE_DEFAULTS, **(engine or {})}
    if chunk_size is None:
        chunk_size = int(engine["chunk_size"]) or None
    if engine["executor"] == "local":
        return supervised_map(func, items, n_jobs=n_jobs, timeout_s=timeout_s, desc=desc, total=total,
                              relative_to=relative_to, chunk_size=chunk_size, start_method=start_method)
    if engine["executor"] == "dask":
        from penta_core.engine.dask_map import dask_map  # only then: the dask extra is optional

        return dask_map(func, items, scheduler=engine["scheduler"], workers=int(engine["workers"]) or n_jobs,
                        timeout_s=timeout_s, desc=desc, total=total, relative_to=relative_to,
                        chunk_size=chunk_size)
    raise ValueError(f"engine.executor: expected one of {', '.join(EXECUTORS)}, got {engine['executor']!r}")
