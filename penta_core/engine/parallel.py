"""Run a function over many items in supervised worker processes.

A hostile input may crash a native parser (a segfault in a C++ MIDI reader)
or hang it. Each item therefore runs in a worker process that the parent
watches: an exception, a crash or a time-out becomes a failed
:class:`Outcome` with a one-line reason, the worker is replaced and the run
goes on. Items are consumed lazily and at most ``n_jobs`` are in flight, so
memory stays bounded however many items there are.

Ctrl-C is the parent's alone: workers never see SIGINT (they start with it
blocked and ignore it), so they print no traceback of their own; the parent
raises ``KeyboardInterrupt`` and stops them on its way out.
"""
from __future__ import annotations

import contextlib
import itertools
import multiprocessing as mp
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing import resource_tracker
from multiprocessing.connection import wait
from typing import Any


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


def _worker_main(conn, func: Callable[[Any], Any]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        if message is None:
            return
        index, item = message
        try:
            outcome = Outcome(True, func(item))
        except Exception as err:  # the item failed, not the worker
            outcome = Outcome(False, reason=one_line(err))
        try:
            conn.send((index, outcome))
        except Exception as err:  # unpicklable result
            conn.send((index, Outcome(False, reason=one_line(err))))


@contextlib.contextmanager
def _ctrl_c_held() -> Iterator[None]:
    """Hold Ctrl-C back while a worker process starts.

    The child inherits SIGINT blocked through fork and exec, so a Ctrl-C sent to
    the process group while it imports (seconds, for librosa) never raises
    there. A Ctrl-C that reaches the parent meanwhile is noted and raised again
    on the way out, once the new worker is where :func:`supervised_map` stops it.
    """
    resource_tracker.ensure_running()  # starting it inside would unblock SIGINT (it restores by unblocking)
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


class _Worker:
    def __init__(self, ctx, func):
        parent_end, child_end = ctx.Pipe(duplex=True)
        self.process = ctx.Process(target=_worker_main, args=(child_end, func), daemon=True)
        self.process.start()
        child_end.close()
        self.conn = parent_end
        self.task: int | None = None
        self.deadline = float("inf")

    def stop(self, force: bool = False) -> None:
        if not force:
            with contextlib.suppress(BrokenPipeError, OSError):
                self.conn.send(None)
            self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()


def supervised_map(
    func: Callable[[Any], Any],
    items: Iterable[Any],
    *,
    n_jobs: int = 1,
    timeout_s: float | None = None,
    desc: str | None = None,
    total: int | None = None,
    relative_to: Iterable[str | os.PathLike] = (),
) -> Iterator[tuple[int, Outcome]]:
    """Yield ``(index, Outcome)`` for each item, in completion order.

    Parameters
    ----------
    func : a module-level function of one argument (it is pickled by name).
    items : any iterable; read lazily.
    n_jobs : number of worker processes (at least 1).
    timeout_s : per-item limit; a slower item is killed and reported.
    desc, total : label and length of the progress bar (shown on a terminal only).
    relative_to : folders whose absolute paths are cut out of failure reasons, so a
        recorded reason is the same on every machine and checkout.

    Example
    -------
    >>> results = dict(supervised_map(abs, [-1, 2], n_jobs=1))  # doctest: +SKIP
    """
    ctx = mp.get_context("spawn")
    prefixes = sorted({p for f in relative_to for p in (f"{os.fspath(f)}/", f"{os.path.realpath(f)}/")},
                      key=len, reverse=True)
    source = iter(enumerate(items))
    try:
        first = next(source)
    except StopIteration:
        return  # nothing to do: start no worker
    source = itertools.chain([first], source)
    exhausted = False
    workers: list[_Worker] = []
    from tqdm import tqdm  # only when there is work: a run that finds nothing to do starts faster

    bar = tqdm(total=total, desc=desc, disable=None, unit="file", leave=False)
    try:
        for _ in range(max(1, n_jobs)):
            with _ctrl_c_held():
                workers.append(_Worker(ctx, func))
        while True:
            for worker in workers:
                if worker.task is None and not exhausted:
                    try:
                        index, item = next(source)
                    except StopIteration:
                        exhausted = True
                        break
                    worker.conn.send((index, item))
                    worker.task = index
                    worker.deadline = time.monotonic() + timeout_s if timeout_s else float("inf")
            busy = [w for w in workers if w.task is not None]
            if not busy:
                return
            wait_for = min(w.deadline for w in busy) - time.monotonic()
            ready = wait([w.conn for w in busy], timeout=max(0.0, wait_for) if wait_for != float("inf") else None)
            for position, worker in enumerate(list(workers)):
                if worker.task is None:
                    continue
                outcome: Outcome | None = None
                if worker.conn in ready:
                    try:
                        index, outcome = worker.conn.recv()
                    except (EOFError, OSError):
                        worker.process.join(timeout=5)
                        code = worker.process.exitcode
                        outcome = Outcome(False, reason=f"worker crashed (exit code {code})")
                elif time.monotonic() >= worker.deadline:
                    outcome = Outcome(False, reason=f"timed out after {timeout_s:g} s")
                if outcome is None:
                    continue
                index = worker.task
                bar.update(1)
                if not outcome.ok and outcome.reason and outcome.reason.startswith(("worker crashed", "timed out")):
                    worker.stop(force=True)
                    with _ctrl_c_held():
                        workers[position] = _Worker(ctx, func)
                else:
                    worker.task = None
                if not outcome.ok and prefixes and outcome.reason:
                    outcome = Outcome(False, reason=_strip(outcome.reason, prefixes))
                yield index, outcome
    finally:
        bar.close()
        for worker in workers:
            worker.stop(force=worker.task is not None)
