"""Run a function over many items on a Dask cluster, with the guarantees of the local pool.

The contract is :func:`~penta_core.engine.parallel.supervised_map`'s: yield
``(index, Outcome)`` as items finish; an item that raises, crashes its worker
or outlives its time-out is a failed :class:`Outcome` with a one-line reason,
and the run goes on.

- Chunks: a task carries a chunk of ``(index, item)`` pairs. With
  ``chunk_size`` None a chunk starts at one item and grows, from the measured
  item times, toward :data:`TARGET_TASK_S` of work, so the scheduler's few
  milliseconds per task stay a small share.
- Memory: items are read lazily and at most :data:`TASKS_PER_THREAD` tasks per
  worker thread are in flight; a result is taken as soon as its task finishes
  and released on the cluster at once. Nothing is gathered at the end.
- Crashes: a worker that dies (a segfault in a native parser, a SIGKILL) is
  replaced by its nanny and Dask runs its task again elsewhere; only after
  ``distributed.scheduler.allowed-failures`` deaths does the task fail with
  ``KilledWorker``. A chunk that fails so runs again one item a task, so the
  failure is charged to the one item that causes it, and the others finish.
  A rerun computes the same bytes (randomness is per sample), and every index
  is yielded once.
- Time-outs: while a task runs, its worker notes which item it is on and
  since when (:func:`_run_chunk`); the client asks every
  :data:`POLL_S` seconds. An item past ``timeout_s`` is failed, its task
  cancelled, the rest of its chunk runs again one item a task, and its
  worker is restarted (retired, without a nanny) so the hung thread does not
  hold the slot for ever.
- Writes: tasks only return values; the stage process alone writes the dataset.
- Inputs: tasks carry what the stage's items carry, which is paths (a source
  file, a shard and a member's offset), never file bytes: every worker must
  see the source and dataset folders at the same paths (README, Engine).
  Items run in the stage's working folder, so relative paths hold too.
"""
from __future__ import annotations

import contextlib
import itertools
import logging
import os
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from penta_core.core.cluster import check_scheduler
from penta_core.core.errors import ClusterError
from penta_core.engine.parallel import SINGLE_THREADED, Outcome, _ChunkSizer, _ctrl_c_held, _strip, one_line

# Work per task once item times are known: a task costs the scheduler a few
# milliseconds, so this keeps its share around 1-2%, and the last tasks still end together.
TARGET_TASK_S = 0.25
# Tasks in flight per worker thread: enough that a worker never waits for the next
# task, few enough that items read ahead of their results stay bounded.
TASKS_PER_THREAD = 3
# How often the client asks the workers which item they are on, when there is a time-out.
POLL_S = 0.5
# Longest wait for a result before looking at time-outs and the worker count again.
WAKE_S = 0.1
# How often the number of worker threads is asked again (workers join and leave).
THREADS_REFRESH_S = 2.0
# A worker that cannot be reached in this long is given up on when asked about progress.
CONNECT_TIMEOUT = "10s"
# A task the cluster lost or cancelled (not one that failed) is sent again at most this many times.
MAX_RESUBMITS = 3
# A cluster with no worker this long while work waits fails the stage, naming the scheduler, instead of
# waiting for ever (workers that are starting, or restarting after a crash, join well within it).
NO_WORKERS_S = 60.0
KILLED_REASON = "worker crashed (every Dask worker that ran it died: KilledWorker)"

# In a worker process: chunk token -> (position in the chunk of the item running, its start).
_RUNNING: dict[str, tuple[int, float]] = {}
_THREADS_LIMITED = False


def _limit_native_threads() -> None:
    """One BLAS/OpenMP thread in this worker, as in a local one (the same bits; see parallel.SINGLE_THREADED).

    A nanny starts its worker with the variables set already; a worker without
    one (``dask worker --no-nanny``) gets its loaded thread pools limited here.
    """
    global _THREADS_LIMITED
    if _THREADS_LIMITED:
        return
    _THREADS_LIMITED = True
    if any(os.environ.get(name) != value for name, value in SINGLE_THREADED.items()
           if name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")):
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)


def _run_chunk(func: Callable[[Any], Any], token: str, chunk: list[tuple[int, Any]], cwd: str
               ) -> tuple[list[tuple[int, Outcome]], float]:
    """Worker side: run ``func`` on each item of ``chunk``; ``([(index, Outcome)], seconds of work)``.

    Items run in the stage's working folder ``cwd``, so a relative path in an
    item (a dataset root given as ``datasets``) names the file it names there.
    """
    _limit_native_threads()
    if os.getcwd() != cwd:
        try:
            os.chdir(cwd)  # one thread a worker: nothing else runs in another folder meanwhile
        except OSError as err:
            reason = (f"this worker cannot enter the stage's working folder {cwd} ({err.strerror}): every "
                      "worker must see the stage's folders at the same paths")
            return [(index, Outcome(False, reason=reason)) for index, _ in chunk], 0.0
    done: list[tuple[int, Outcome]] = []
    seconds = 0.0
    try:
        for position, (index, item) in enumerate(chunk):
            begin = time.monotonic()
            _RUNNING[token] = (position, begin)
            try:
                outcome = Outcome(True, func(item))
            except Exception as err:  # the item failed, not the worker
                outcome = Outcome(False, reason=one_line(err))
            seconds += time.monotonic() - begin
            done.append((index, outcome))
    finally:
        _RUNNING.pop(token, None)
    return done, seconds


def _running() -> dict[str, tuple[int, float]]:
    """Worker side: ``token -> (position, seconds it has run)`` for the items running now."""
    now = time.monotonic()
    return {token: (position, now - begin) for token, (position, begin) in list(_RUNNING.items())}


@contextlib.contextmanager
def connect(scheduler: str = "", workers: int = 1) -> Iterator[Any]:
    """A ``distributed.Client`` of the scheduler at ``scheduler``, or of a ``LocalCluster`` started here.

    The local cluster listens on 127.0.0.1 only, has ``workers`` worker
    processes of one thread each, no dashboard, and workers that may start
    processes of their own (``distributed.worker.daemon: False``).
    """
    try:
        import dask
        import distributed
    except ImportError:
        raise ClusterError("engine.executor: dask needs the dask extra: pip install 'penta_core[dask]'") from None
    if scheduler:
        check_scheduler(scheduler)
        try:
            client = distributed.Client(scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except OSError as err:
            raise ClusterError(f"engine.scheduler: cannot connect to the Dask scheduler at {scheduler} "
                               f"({one_line(err)})") from None
        try:
            yield client
        finally:
            client.close()
        return
    # A worker that starts processes (the numba warm-up, FluidSynth) must not be a daemon process.
    # Saturation 1.0: a one-thread worker holds one task, so a death reschedules only the task it ran.
    with dask.config.set({"distributed.worker.daemon": False, "distributed.scheduler.worker-saturation": 1.0}):
        # Nannies and their workers start with Ctrl-C blocked (inherited through exec, and by the workers a
        # nanny restarts): a terminal's Ctrl-C reaches the whole group, and only the stage answers it.
        with _ctrl_c_held():
            cluster = distributed.LocalCluster(
                n_workers=max(1, workers), threads_per_worker=1, processes=True, host="127.0.0.1",
                dashboard_address=None, silence_logs=logging.ERROR,
                # No dashboard; its HTTP server (health, metrics) on a free port, not 8787,
                # which another cluster on the machine may hold.
                scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"})
        try:
            client = distributed.Client(cluster, set_as_default=False)
            try:
                yield client
            finally:
                client.close()
        finally:
            cluster.close()


def dask_map(
    func: Callable[[Any], Any],
    items: Iterable[Any],
    *,
    scheduler: str = "",
    workers: int = 1,
    timeout_s: float | None = None,
    desc: str | None = None,
    total: int | None = None,
    relative_to: Iterable[str | os.PathLike] = (),
    chunk_size: int | None = None,
    client: Any = None,
) -> Iterator[tuple[int, Outcome]]:
    """Yield ``(index, Outcome)`` for each item, in completion order, computed on a Dask cluster.

    Parameters
    ----------
    func : a module-level function of one argument; every worker must be able to import its module.
    items : any iterable; read lazily.
    scheduler : ``tcp://host:port`` of a running scheduler, or ``""`` for a
        ``LocalCluster`` of ``workers`` processes started (and stopped) here.
    workers : processes of the local cluster (ignored with ``scheduler``).
    timeout_s : per-item limit; a slower item fails and its worker is restarted.
    desc, total : label and length of the progress bar (shown on a terminal only).
    relative_to : folders cut out of failure reasons.
    chunk_size : items per task; None adapts toward :data:`TARGET_TASK_S` of work a task.
    client : a ``distributed.Client`` to use as it is (``scheduler`` and ``workers`` are then ignored).
    """
    if chunk_size is not None and (isinstance(chunk_size, bool) or not isinstance(chunk_size, int)
                                   or chunk_size < 1):
        raise ValueError(f"chunk_size: expected a whole number >= 1 or None, got {chunk_size!r}")
    return _dask_map(func, items, scheduler, workers, timeout_s, desc, total, relative_to, chunk_size, client)


def _dask_map(func, items, scheduler, workers, timeout_s, desc, total, relative_to, chunk_size, client
              ) -> Iterator[tuple[int, Outcome]]:
    source = iter(enumerate(items))
    try:
        first = next(source)
    except StopIteration:
        return  # nothing to do: start no cluster
    source = itertools.chain([first], source)
    with contextlib.ExitStack() as stack:
        if client is None:
            client = stack.enter_context(connect(scheduler, workers))
        yield from _stream(client, func, source, timeout_s, desc, total, relative_to, chunk_size)


def _stream(client, func, source, timeout_s, desc, total, relative_to, chunk_size
            ) -> Iterator[tuple[int, Outcome]]:
    import distributed
    from distributed.scheduler import KilledWorker
    from tqdm import tqdm

    prefixes = sorted({p for f in relative_to for p in (f"{os.fspath(f)}/", f"{os.path.realpath(f)}/")},
                      key=len, reverse=True)
    sizer = _ChunkSizer(chunk_size, TARGET_TASK_S)
    again: deque[tuple[int, Any]] = deque()  # items to run once more, one per task
    in_flight: dict[Any, tuple[str, list[tuple[int, Any]], int]] = {}  # future -> (token, chunk, attempt)
    yielded: set[int] = set()
    label = (desc or "item").replace(" ", "_")
    cwd = os.getcwd()
    threads, threads_at = 1, -THREADS_REFRESH_S
    no_workers_since: float | None = None
    polled_at = time.monotonic()
    asker = ThreadPoolExecutor(1, thread_name_prefix="penta-dask-poll") if timeout_s else None
    poll = None  # the pending question to the workers: which item are you on, since when
    exhausted = False
    bar = tqdm(total=total, desc=desc, disable=None, unit="file", leave=False)

    # Results are fetched in the client's own thread as tasks finish; this thread takes them in batches.
    ready = distributed.as_completed(loop=client.loop, with_results=True, raise_errors=False)

    def submit(chunk: list[tuple[int, Any]], attempt: int = 0) -> None:
        token = uuid.uuid4().hex
        future = client.submit(_run_chunk, func, token, chunk, cwd, key=f"{label}-{token}", pure=False)
        in_flight[future] = (token, chunk, attempt)
        ready.add(future)

    def finish(index: int, outcome: Outcome) -> tuple[int, Outcome] | None:
        if index in yielded:  # never twice, whatever Dask ran twice
            return None
        yielded.add(index)
        bar.update(1)
        if not outcome.ok and prefixes and outcome.reason:
            outcome = Outcome(False, reason=_strip(outcome.reason, prefixes))
        return index, outcome

    try:
        while True:
            now = time.monotonic()
            if now - threads_at >= THREADS_REFRESH_S:
                counted = sum(client.nthreads().values())
                threads, threads_at = max(1, counted), now
                no_workers_since = None if counted else (no_workers_since or now)
                if no_workers_since is not None and now - no_workers_since >= NO_WORKERS_S:
                    raise ClusterError(
                        f"engine.scheduler: the Dask scheduler at {client.scheduler.address} has had no "
                        f"workers for {now - no_workers_since:.0f} s; start some there "
                        "(DASK_DISTRIBUTED__WORKER__DAEMON=False dask worker ADDRESS --nthreads 1)")
            while len(in_flight) < TASKS_PER_THREAD * threads:
                if again:
                    submit([again.popleft()])
                    continue
                chunk = [] if exhausted else list(itertools.islice(source, sizer.next()))
                if not chunk:
                    exhausted = True
                    break
                submit(chunk)
            if not in_flight:
                return
            with ready.thread_condition:  # held while looking: a result that comes meanwhile wakes the wait
                if not ready.has_ready():
                    ready.thread_condition.wait(timeout=WAKE_S)
            for future, value in ready.next_batch(block=False):
                if future not in in_flight:
                    continue  # cancelled after its time-out: already reported
                _, chunk, attempt = in_flight.pop(future)
                finished = []
                if future.status == "finished":
                    results, seconds = value
                    sizer.measured(len(results), seconds)
                    finished = results
                elif future.status == "error":
                    err = future.exception()  # rare: fetched on its own (value is a (type, error, traceback))
                    if len(chunk) > 1:  # find the item to blame: each runs again alone
                        again.extend(chunk)
                    elif isinstance(err, KilledWorker):
                        finished = [(chunk[0][0], Outcome(False, reason=KILLED_REASON))]
                    else:
                        finished = [(chunk[0][0], Outcome(False, reason=one_line(err)))]
                elif attempt < MAX_RESUBMITS:  # lost with its worker, or cancelled by the cluster: run it again
                    submit(chunk, attempt + 1)
                else:
                    finished = [(index, Outcome(False, reason=f"task {future.status} {attempt + 1} times"))
                                for index, _ in chunk]
                future.release()
                for index, outcome in finished:
                    result = finish(index, outcome)
                    if result is not None:
                        yield result
            if timeout_s:
                if poll is not None and poll.done():
                    reports = poll.result() if poll.exception() is None else {}
                    poll = None
                    for result in _time_outs(client, in_flight, again, timeout_s, reports):
                        result = finish(*result)
                        if result is not None:
                            yield result
                if poll is None and time.monotonic() - polled_at >= POLL_S:
                    polled_at = time.monotonic()
                    # Asked from another thread: a worker slow to answer never holds up the results.
                    poll = asker.submit(client.run, _running, on_error="return")
    finally:
        if asker is not None:
            asker.shutdown(wait=False, cancel_futures=True)
        bar.close()
        for future in in_flight:
            future.cancel()


def _time_outs(client, in_flight, again, timeout_s, reports) -> list[tuple[int, Outcome]]:
    """Fail the items running past ``timeout_s``; cancel their tasks, rerun the rest, restart their workers.

    ``reports`` : worker address -> what :func:`_running` returned there (or the error asking it).
    """
    by_token = {token: future for future, (token, _, _) in in_flight.items()}
    failed: list[tuple[int, Outcome]] = []
    hung_workers = []
    for address, running in reports.items():
        if isinstance(running, BaseException):
            continue  # a worker dying now: Dask reschedules its task
        for token, (position, seconds) in running.items():
            future = by_token.get(token)
            if future is None or seconds < timeout_s or future.done():
                continue
            _, chunk, _ = in_flight.pop(future)
            future.cancel()
            failed.append((chunk[position][0], Outcome(False, reason=f"timed out after {timeout_s:g} s")))
            again.extend(chunk[:position] + chunk[position + 1:])  # their results went with the task
            hung_workers.append(address)
    if hung_workers:
        try:
            client.restart_workers(hung_workers)
        except Exception:  # no nanny to restart it: take it out of the cluster instead
            with contextlib.suppress(Exception):
                client.retire_workers(hung_workers, close_workers=True)
    return failed
