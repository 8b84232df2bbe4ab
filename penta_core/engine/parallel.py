"""Run a function over many items in supervised worker processes.

A hostile input may crash a native parser (a segfault in a C++ MIDI reader)
or hang it. Each item therefore runs in a worker process that the parent
watches: an exception, a crash or a time-out becomes a failed
:class:`Outcome` with a one-line reason, the worker is replaced and the run
goes on.

Work goes to a worker in chunks, so that a cheap item does not pay a pipe round
trip of its own: a chunk starts at one item and grows, from the measured item
times, toward :data:`TARGET_CHUNK_S` of work (at most :data:`MAX_CHUNK` items).
The worker sends its results back in batches, and before each item it writes
in memory shared with the parent which item it is on and since when. So the
time-out stays per item, and a crash or a time-out is charged to the one item
that was running; the chunk's other unfinished items run again, each alone in
a chunk, on whichever worker is free (the replacement, typically). Items are
consumed lazily and at most ``n_jobs`` chunks are in flight, so memory stays
bounded however many items there are.

Ctrl-C is the parent's alone: workers never see SIGINT (they start with it
blocked and ignore it), so they print no traceback of their own; the parent
raises ``KeyboardInterrupt`` and stops them on its way out.

Workers are spawned (a fresh interpreter that imports what it needs) unless
the caller asks for ``start_method="fork"``, honoured on Linux only: a forked
worker starts with the parent's modules already imported, which saves each
worker its interpreter start-up and imports (0.25-0.5 s of CPU for numpy,
mido and the package). Fork is for work that is safe to run in a copy of the
parent: no threads of its own, no native thread pool whose results depend on
the thread count. A forked worker closes the parent's ends of every worker
pipe it inherited and dies with the parent (``PR_SET_PDEATHSIG``), so a
killed stage leaves no worker behind holding its pipes or the dataset lock;
the parent's objects are kept out of the worker's garbage collections
(``gc.freeze``), so their memory pages stay shared.
"""
from __future__ import annotations

import contextlib
import gc
import itertools
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing import resource_tracker
from multiprocessing.connection import wait
from multiprocessing.reduction import ForkingPickler
from typing import Any

# Work per chunk once item times are known: a round trip (a fraction of a
# millisecond) then costs well under 1%, and the last chunks still finish together.
TARGET_CHUNK_S = 0.1
# The ways a worker may start (``multiprocessing`` start methods); spawn is the default.
START_METHODS = ("spawn", "fork")
# Kinds of sample whose per-sample work (numpy on integers, symusic, mido, this package) is safe in a
# forked copy of the stage process: no threads of its own, no native thread pool it depends on. A
# forked worker skips the interpreter start-up and imports a spawned one pays (about 0.3-0.5 s of CPU
# a worker). Audio work keeps spawned workers: librosa and numba load there with one native thread
# each (SINGLE_THREADED).
FORK_SAFE_KINDS = frozenset({"midi"})
# Items per chunk at most: bounds what is read ahead of ``items`` and held in flight.
MAX_CHUNK = 1000
# A worker sends the results it holds at least this often, so progress stays
# smooth and a crash costs at most this much finished work, which then runs again.
FLUSH_S = 0.02
# Native thread pools (BLAS, OpenMP) run one thread in a worker. The workers are the parallelism
# already, and a reduction split over a machine's cores sums in another order: an MFCC came out
# different in its last bits on 1 thread and on 2, so outputs depended on the core count and on
# the executor (Dask's nanny starts workers with these same variables at 1).
SINGLE_THREADED = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                   "VECLIB_MAXIMUM_THREADS": "1", "NUMEXPR_NUM_THREADS": "1"}


@dataclass(frozen=True)
class Outcome:
    ok: bool
    value: Any = None
    reason: str | None = None


def one_line(err: BaseException) -> str:
    text = " ".join(str(err).split()) or "no message"
    return f"{type(err).__name__}: {text}"[:300]


def _strip(reason: str, prefixes: list[str]) -> str:
    for prefix in prefixes:
        reason = reason.replace(prefix, "")
    return reason


def _picklable(outcome: Outcome) -> Outcome:
    try:
        ForkingPickler.dumps(outcome)
    except Exception as err:  # an unpicklable result fails its item, not the batch
        return Outcome(False, reason=one_line(err))
    return outcome


def _send_results(conn, done: list[tuple[int, Outcome]], seconds: float) -> None:
    try:
        conn.send((done, seconds))
    except Exception:  # pickling failed before anything was written: find the culprit
        conn.send(([(index, _picklable(outcome)) for index, outcome in done], seconds))


def _die_with_parent(parent: int) -> None:
    """Have the kernel kill this (forked) process when its parent dies (Linux; elsewhere nothing is done)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the worker still ends at its pipe's end of file
        return
    if os.getppid() != parent:  # the parent died before the request was made
        os._exit(1)


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def start_method_for(kinds: Iterable[str]) -> str:
    """``"fork"`` when every item is of a kind in :data:`FORK_SAFE_KINDS`, else ``"spawn"``.

    A stage whose pending work is all MIDI then skips the interpreter start-up and
    imports of its workers (about 0.3 s of CPU each); audio work (librosa, numba)
    keeps fresh interpreters with one native thread each.

    Example
    -------
    >>> start_method_for(["midi", "midi"]), start_method_for(["midi", "audio"]), start_method_for([])
    ('fork', 'spawn', 'fork')
    """
    return "fork" if set(kinds) <= FORK_SAFE_KINDS else "spawn"


def _fork_is_safe() -> bool:
    """Fork only on Linux: elsewhere system libraries (macOS's among them) are not safe in a forked copy."""
    return sys.platform.startswith("linux") and "fork" in mp.get_all_start_methods()


def _worker_main(conn, func: Callable[[Any], Any], progress, inherited: tuple = (), parent: int | None = None
                 ) -> None:
    """Run chunks of ``(index, item)``; send back ``([(index, Outcome), ...], seconds of work)`` batches.

    ``inherited`` (forked workers): the parent's ends of the worker pipes, copies of which
    this process holds and closes, so a pipe ends when the parent's end closes;
    ``parent``: the parent's pid, whose death kills this worker.

    ``progress[0]`` is the number of the item running (counted over every chunk
    this worker got, from 0) and ``progress[1 + number % slots]`` its start on
    the monotonic clock, which every process shares. The start is written
    first: the parent reads the number first, so it never pairs an item with
    an earlier item's start.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for other in inherited:
        other.close()
    if parent is not None:
        _die_with_parent(parent)
    slots = len(progress) - 1
    number = 0
    while True:
        try:
            chunk = conn.recv()
        except EOFError:
            return
        if chunk is None:
            return
        done: list[tuple[int, Outcome]] = []
        seconds = 0.0
        sent = time.monotonic()
        for index, item in chunk:
            begin = time.monotonic()
            progress[1 + number % slots] = begin
            progress[0] = number
            number += 1
            try:
                outcome = Outcome(True, func(item))
            except Exception as err:  # the item failed, not the worker
                outcome = Outcome(False, reason=one_line(err))
            end = time.monotonic()
            seconds += end - begin
            done.append((index, outcome))
            if end - sent >= FLUSH_S:
                _send_results(conn, done, seconds)
                done, seconds, sent = [], 0.0, time.monotonic()
        if done:
            _send_results(conn, done, seconds)


@contextlib.contextmanager
def _ctrl_c_held(ensure_tracker: bool = True) -> Iterator[None]:
    """Hold Ctrl-C back while a worker process starts.

    The child inherits SIGINT blocked through fork and exec, so a Ctrl-C sent to
    the process group while it imports (seconds, for librosa) never raises
    there. A Ctrl-C that reaches the parent meanwhile is noted and raised again
    on the way out, once the new worker is where :func:`supervised_map` stops it.
    """
    if ensure_tracker:  # spawned workers need it; starting it inside would unblock SIGINT (it restores by unblocking)
        resource_tracker.ensure_running()
    held: list[int] = []
    previous = None
    if threading.current_thread() is threading.main_thread():
        # Blocking alone is not enough in the parent: the kernel hands a process-wide
        # signal to any thread that does not block it (numpy's BLAS threads), and
        # Python then raises in the main thread all the same.
        previous = signal.signal(signal.SIGINT, lambda signum, frame: held.append(signum))
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    if held:
        signal.raise_signal(signal.SIGINT)  # now handled as it would have been


@contextlib.contextmanager
def single_threaded_environ() -> Iterator[None]:
    """:data:`SINGLE_THREADED` in ``os.environ`` meanwhile: a process started now inherits it before numpy loads."""
    saved = {name: os.environ.get(name) for name in SINGLE_THREADED}
    os.environ.update(SINGLE_THREADED)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class _Worker:
    def __init__(self, ctx, func, slots: int, others: list[_Worker] = ()):
        self.progress = ctx.RawArray("d", 1 + slots)
        self.progress[0] = -1
        parent_end, child_end = ctx.Pipe(duplex=True)
        args: tuple = (child_end, func, self.progress)
        fork = ctx.get_start_method() == "fork"
        if fork:  # what a forked child holds of the parent's, to let go of
            args += (tuple(w.conn for w in others) + (parent_end,), os.getpid())
        self.process = ctx.Process(target=_worker_main, args=args, daemon=True)
        if fork:
            # The parent's objects go to the collector's permanent generation first: the child's
            # collections then never write to them, so their pages stay shared, not copied per worker.
            gc.freeze()
        try:
            with single_threaded_environ():
                self.process.start()
        finally:
            if fork:
                gc.unfreeze()
        child_end.close()
        self.conn = parent_end
        self.chunk: list[tuple[int, Any]] = []  # the chunk in flight, in the order the worker runs it
        self.done = 0  # how many of its items have their result back
        self.first = 0  # the worker's number for the chunk's first item
        self.since = 0.0  # when the chunk was sent or the last results came back

    @property
    def busy(self) -> bool:
        return self.done < len(self.chunk)

    def send(self, chunk: list[tuple[int, Any]]) -> None:
        # Busy before the first byte goes: a send cut short (Ctrl-C) leaves a worker only a kill can stop.
        self.first += len(self.chunk)
        self.chunk, self.done, self.since = chunk, 0, time.monotonic()
        self.conn.send(chunk)

    def receive(self) -> tuple[list[tuple[int, Outcome]], float]:
        results, seconds = self.conn.recv()
        self.done += len(results)
        self.since = time.monotonic()
        return results, seconds

    def running(self) -> tuple[int, float] | None:
        """The position in the chunk of the item the worker is on and its start, or None between items."""
        number = int(self.progress[0])
        position = number - self.first
        if not self.done <= position < len(self.chunk):
            return None
        return position, self.progress[1 + number % (len(self.progress) - 1)]

    def deadline(self, timeout_s: float | None) -> float:
        if not timeout_s:
            return float("inf")
        on = self.running()
        # Between items (or still starting up, as on the first item today) the
        # clock runs from the last news of the worker.
        return (on[1] if on else self.since) + timeout_s

    def unfinished(self) -> tuple[tuple[int, Any] | None, list[tuple[int, Any]]]:
        """After a crash or a time-out: the item to blame, and the others to run again.

        The item running is to blame. Those before it in the chunk finished, but
        their results were lost with the worker; those after it never started.
        A lone unfinished item is the one in flight, as when chunks were single
        items. With no item running (a crash between items), nobody is blamed
        and each unfinished item runs again alone, where a fault is its own.
        """
        pending = self.chunk[self.done:]
        if len(pending) == 1:
            return pending[0], []
        on = self.running()
        if on is None:
            return None, pending
        at = on[0] - self.done
        return pending[at], pending[:at] + pending[at + 1:]

    def stop(self, force: bool = False) -> None:
        if not force:
            with contextlib.suppress(BrokenPipeError, OSError):
                self.conn.send(None)
            self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()


class _ChunkSizer:
    """Chunk sizes: one item until a time is measured, then toward ``target_s``, at most doubling each time."""

    def __init__(self, fixed: int | None, target_s: float = TARGET_CHUNK_S):
        self.fixed = fixed
        self.target_s = target_s
        self.item_s: float | None = None
        self.last = 1

    def measured(self, count: int, seconds: float) -> None:
        if count:
            # Recent batches weigh most, so a run whose items get slower soon sends smaller chunks.
            mean = seconds / count
            self.item_s = mean if self.item_s is None else 0.7 * self.item_s + 0.3 * mean

    def next(self) -> int:
        if self.fixed is not None:
            return self.fixed
        if self.item_s is None:
            return 1
        wanted = int(self.target_s / max(self.item_s, 1e-7))
        self.last = max(1, min(wanted, MAX_CHUNK, 2 * self.last))
        return self.last


def supervised_map(
    func: Callable[[Any], Any],
    items: Iterable[Any],
    *,
    n_jobs: int = 1,
    timeout_s: float | None = None,
    desc: str | None = None,
    total: int | None = None,
    relative_to: Iterable[str | os.PathLike] = (),
    chunk_size: int | None = None,
    start_method: str = "spawn",
) -> Iterator[tuple[int, Outcome]]:
    """Yield ``(index, Outcome)`` for each item, in completion order.

    Parameters
    ----------
    func : a module-level function of one argument (it is pickled by name).
    items : any iterable; read lazily, at most ``n_jobs`` chunks ahead of the results.
    n_jobs : number of worker processes (at least 1).
    timeout_s : per-item limit; a slower item is killed and reported.
    desc, total : label and length of the progress bar (shown on a terminal only).
    relative_to : folders whose absolute paths are cut out of failure reasons, so a
        recorded reason is the same on every machine and checkout.
    chunk_size : items sent to a worker at once; None (the default) starts at 1
        and adapts to about ``TARGET_CHUNK_S`` of work per chunk, at most
        ``MAX_CHUNK`` items. 1 sends every item on its own. Outcomes do not
        depend on it.
    start_method : ``"spawn"`` (the default: fresh interpreters) or ``"fork"``
        (copies of this process, modules already imported; see the module's
        notes for when that is safe). Off Linux, spawn whatever is asked.

    Example
    -------
    >>> results = dict(supervised_map(abs, [-1, 2], n_jobs=1))  # doctest: +SKIP
    """
    if chunk_size is not None and (isinstance(chunk_size, bool) or not isinstance(chunk_size, int)
                                   or chunk_size < 1):
        raise ValueError(f"chunk_size: expected a whole number >= 1 or None, got {chunk_size!r}")
    if start_method not in START_METHODS:
        raise ValueError(f"start_method: expected one of {', '.join(START_METHODS)}, got {start_method!r}")
    if start_method == "fork" and not _fork_is_safe():
        start_method = "spawn"
    # Checked here, when called: the generator below runs only when first iterated.
    return _supervised_map(func, items, n_jobs, timeout_s, desc, total, relative_to, chunk_size, start_method)


def _supervised_map(func, items, n_jobs, timeout_s, desc, total, relative_to, chunk_size, start_method
                    ) -> Iterator[tuple[int, Outcome]]:
    ctx = mp.get_context(start_method)
    prefixes = sorted({p for f in relative_to for p in (f"{os.fspath(f)}/", f"{os.path.realpath(f)}/")},
                      key=len, reverse=True)
    source = iter(enumerate(items))
    try:
        first = next(source)
    except StopIteration:
        return  # nothing to do: start no worker
    source = itertools.chain([first], source)
    again: deque[tuple[int, Any]] = deque()  # items to run once more, one per chunk
    sizer = _ChunkSizer(chunk_size)
    slots = chunk_size or MAX_CHUNK
    workers: list[_Worker] = []

    def start_worker(position: int) -> _Worker:
        # In the list before a held Ctrl-C is raised, so the finally below stops it.
        with _ctrl_c_held(ensure_tracker=start_method == "spawn"):
            if position == len(workers):
                workers.append(_Worker(ctx, func, slots, workers))
            else:
                workers[position] = _Worker(ctx, func, slots, workers)
        return workers[position]

    from tqdm import tqdm  # only when there is work: a run that finds nothing to do starts faster

    bar = tqdm(total=total, desc=desc, disable=None, unit="file", leave=False)
    try:
        for position in range(max(1, n_jobs)):
            start_worker(position)
        while True:
            for position, worker in enumerate(workers):
                if worker.busy:
                    continue
                chunk = [again.popleft()] if again else list(itertools.islice(source, sizer.next()))
                if not chunk:
                    break
                try:
                    worker.send(chunk)
                except OSError:  # it died while idle (killed from outside): its replacement takes the chunk
                    worker.stop(force=True)
                    start_worker(position).send(chunk)
            busy = [w for w in workers if w.busy]
            if not busy:
                return
            wait_for = min(w.deadline(timeout_s) for w in busy) - time.monotonic()
            ready = wait([w.conn for w in busy], timeout=max(0.0, wait_for) if wait_for != float("inf") else None)
            for position, worker in enumerate(list(workers)):
                if not worker.busy:
                    continue
                finished: list[tuple[int, Outcome]] = []
                failure: str | None = None
                # Past its deadline, a worker is read too: a result already in the pipe
                # (sent while the caller held the generator) is never lost to a time-out.
                news = worker.conn in ready or (time.monotonic() >= worker.deadline(timeout_s) and worker.conn.poll())
                try:
                    while worker.busy and (news or worker.conn.poll()):
                        news = False
                        results, seconds = worker.receive()
                        sizer.measured(len(results), seconds)
                        finished.extend(results)
                except (EOFError, OSError):
                    worker.process.join(timeout=5)
                    failure = f"worker crashed (exit code {worker.process.exitcode})"
                if failure is None and worker.busy and time.monotonic() >= worker.deadline(timeout_s):
                    failure = f"timed out after {timeout_s:g} s"
                if failure is not None:
                    culprit, rerun = worker.unfinished()
                    again.extend(rerun)
                    if culprit is not None:
                        finished.append((culprit[0], Outcome(False, reason=failure)))
                    worker.chunk, worker.done = [], 0
                    worker.stop(force=True)
                    start_worker(position)
                for index, outcome in finished:
                    bar.update(1)
                    if not outcome.ok and prefixes and outcome.reason:
                        outcome = Outcome(False, reason=_strip(outcome.reason, prefixes))
                    yield index, outcome
    finally:
        bar.close()
        for worker in workers:
            worker.stop(force=worker.busy)
