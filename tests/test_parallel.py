"""Supervised workers: a crash, a hang or an exception fails one item, never the run."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from penta_core.core.errors import DatasetBusy
from penta_core.core.locking import dataset_lock
from penta_core.engine.parallel import MAX_CHUNK, START_METHODS, supervised_map

REPO = Path(__file__).resolve().parents[1]


def square_or_misbehave(x):
    if x == "crash":
        os._exit(3)  # as a segfaulting native parser would: no Python exception
    if x == "hang":
        time.sleep(60)
    if x == "raise":
        raise ValueError("bad input\nspread over lines")
    return x * x


@pytest.mark.parametrize("start_method", START_METHODS)
def test_every_item_gets_an_outcome_and_bad_ones_a_reason(start_method):
    items = [2, "crash", 3, "hang", "raise", 4]
    results = dict(supervised_map(square_or_misbehave, items, n_jobs=2, timeout_s=3, start_method=start_method))
    assert sorted(results) == list(range(len(items)))
    assert [results[i].value for i in (0, 2, 5)] == [4, 9, 16]
    assert results[1].reason == "worker crashed (exit code 3)"
    assert results[3].reason == "timed out after 3 s"
    assert results[4].reason == "ValueError: bad input spread over lines"
    assert not any(results[i].ok for i in (1, 3, 4))


def test_items_are_read_lazily():
    consumed = []

    def numbers():
        for i in range(6):
            consumed.append(i)
            yield i

    stream = supervised_map(square_or_misbehave, numbers(), n_jobs=1)
    next(stream)
    assert consumed == [0]  # only what is in flight has been drawn
    rest = sorted(outcome.value for _, outcome in stream)
    assert len(rest) == 5 and set(rest) <= {0, 1, 4, 9, 16, 25}


def open_missing(path):
    with open(path):
        pass


def test_failure_reasons_hold_paths_relative_to_the_named_folders(tmp_path):
    (tmp_path / "data").mkdir()
    results = dict(supervised_map(open_missing, [str(tmp_path / "data" / "sub" / "x.mid")], n_jobs=1,
                                  relative_to=[tmp_path / "data"]))
    reason = results[0].reason
    assert "sub/x.mid" in reason and str(tmp_path) not in reason


def _outcomes(stream) -> dict:
    """The outcomes by index, checking that no index comes twice."""
    results = {}
    for index, outcome in stream:
        assert index not in results, f"index {index} yielded twice"
        results[index] = outcome
    return results


@pytest.mark.parametrize("start_method", START_METHODS)
@pytest.mark.parametrize("bad", ["crash", "hang"])
def test_a_crash_or_a_hang_in_the_middle_of_a_chunk_fails_that_item_alone(bad, start_method):
    # Cheap items finish within one result batch, so the worker dies holding
    # results of the items before the bad one: they run again, not lost.
    items = [*range(7), bad, *range(8, 20)]
    # 5 s, not less: a fresh worker's start-up counts against its first item, as it always has.
    results = _outcomes(supervised_map(square_or_misbehave, items, n_jobs=1, timeout_s=5, chunk_size=20,
                                       start_method=start_method))
    assert sorted(results) == list(range(20))
    assert [i for i, outcome in results.items() if not outcome.ok] == [7]
    assert results[7].reason == {"crash": "worker crashed (exit code 3)", "hang": "timed out after 5 s"}[bad]
    assert all(results[i].value == i * i for i in results if i != 7)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_every_index_is_yielded_exactly_once_as_chunks_grow(n_jobs):
    items = ["crash" if i in (300, 4100) else "raise" if i % 997 == 0 else i for i in range(6000)]
    results = _outcomes(supervised_map(square_or_misbehave, items, n_jobs=n_jobs))
    assert sorted(results) == list(range(6000))
    assert {i for i, outcome in results.items() if not outcome.ok} == {300, 4100} | set(range(0, 6000, 997))
    assert all(results[i].value == i * i for i in results if isinstance(items[i], int))


def test_outcomes_do_not_depend_on_the_chunk_size():
    items = [*range(30), "raise", *range(31, 50), "crash", *range(51, 80)]
    one_by_one = _outcomes(supervised_map(square_or_misbehave, items, n_jobs=2, chunk_size=1))
    chunked = _outcomes(supervised_map(square_or_misbehave, items, n_jobs=2, chunk_size=16))
    assert one_by_one == chunked
    assert one_by_one[50].reason == "worker crashed (exit code 3)"


def test_a_long_stream_is_read_in_chunks_but_never_far_ahead():
    read = 0

    def numbers():
        nonlocal read
        for i in range(100_000):
            read += 1
            yield i

    ahead = 0
    count = 0
    for _ in supervised_map(abs, numbers(), n_jobs=2):
        count += 1
        ahead = max(ahead, read - count)
    assert count == 100_000
    assert 2 * 8 < ahead <= 2 * MAX_CHUNK  # chunks grew past a few items, and at most one per worker is out


def lock_or_square(x):
    return threading.Lock() if x == 3 else x * x


def test_a_result_that_cannot_be_sent_back_fails_alone_within_its_chunk():
    results = _outcomes(supervised_map(lock_or_square, range(8), n_jobs=1, chunk_size=8))
    assert results[3].reason == "TypeError: cannot pickle '_thread.lock' object"
    assert [results[i].value for i in range(8) if i != 3] == [i * i for i in range(8) if i != 3]


@pytest.mark.parametrize("chunk_size", [0, -1, 2.5, True])
def test_a_chunk_size_below_one_or_not_whole_is_refused_when_called(chunk_size):
    with pytest.raises(ValueError, match=r"^chunk_size: expected a whole number >= 1 or None, got "):
        supervised_map(abs, [1], chunk_size=chunk_size)


def test_an_unknown_start_method_is_refused_when_called():
    with pytest.raises(ValueError, match=r"^start_method: expected one of spawn, fork, got 'forkserver'$"):
        supervised_map(abs, [1], start_method="forkserver")


def test_forked_workers_give_the_outcomes_of_spawned_ones():
    items = [*range(40), "raise", *range(41, 60), "crash", *range(61, 90)]
    spawned = _outcomes(supervised_map(square_or_misbehave, items, n_jobs=2, chunk_size=8))
    forked = _outcomes(supervised_map(square_or_misbehave, items, n_jobs=2, chunk_size=8, start_method="fork"))
    assert forked == spawned


# A stage that holds the dataset lock and has two forked workers, one of them stuck on an item.
_HOLDER = """
import sys, time
from pathlib import Path
from penta_core.core.errors import DatasetBusy
from penta_core.core.locking import dataset_lock
from penta_core.engine.parallel import supervised_map
sys.path.insert(0, sys.argv[2])
from test_parallel import note_and_hang
with dataset_lock(sys.argv[1]):
    for _ in supervised_map(note_and_hang, [sys.argv[1], 1, 2, 3], n_jobs=2, timeout_s=120, chunk_size=1,
                            start_method="fork"):
        pass
"""


def note_and_hang(item):
    if isinstance(item, str):
        (Path(item) / f"worker-{os.getpid()}").touch()
        time.sleep(120)
    return item


def _running(pid: int) -> bool:
    """The process exists and is not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


@pytest.mark.skipif(sys.platform != "linux", reason="the parent-death signal is Linux's")
def test_killing_the_parent_ends_its_forked_workers_and_frees_the_dataset_lock(tmp_path):
    # A forked worker holds copies of what the parent had open: the dataset lock and the pipes
    # to the other workers. Killed with the parent, it leaves neither behind, even mid-item.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)}
    proc = subprocess.Popen([sys.executable, "-c", _HOLDER, str(tmp_path), str(Path(__file__).parent)], env=env)
    try:
        deadline = time.monotonic() + 60
        while not list(tmp_path.glob("worker-*")) and time.monotonic() < deadline:
            time.sleep(0.05)
        (marker,) = tmp_path.glob("worker-*")
        worker = int(marker.name.split("-")[1])
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    deadline = time.monotonic() + 10
    while _running(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    alive = _running(worker)
    if alive:
        os.kill(worker, signal.SIGKILL)
    assert not alive, "the stuck worker outlived its parent"
    # The other worker gets the same kill, but the kernel delivers it on its own time: the lock
    # must come free within seconds, not at once.
    deadline = time.monotonic() + 10
    while True:
        try:
            with dataset_lock(tmp_path):
                break
        except DatasetBusy:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def frozen_objects(_):
    import gc

    return gc.get_freeze_count()


def test_a_forked_worker_leaves_the_parents_objects_to_no_collection():
    # Objects the collector never visits keep their memory pages shared with the parent.
    ((_, forked),) = supervised_map(frozen_objects, [0], start_method="fork")
    ((_, spawned),) = supervised_map(frozen_objects, [0])
    assert forked.value > 1000 and spawned.value == 0


def socket_inodes(_=None) -> set[str]:
    """The sockets this process holds open (a worker pipe is a socket pair)."""
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:"):
            found.add(target)
    return found


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="lists open files through /proc")
def test_a_forked_worker_holds_none_of_the_parents_pipe_ends():
    # Had it kept a copy of another worker's end (or of its own), that pipe would never see its
    # end of file when the parent closed it, and a worker could outlive a parent that died.
    before = socket_inodes()  # whatever else this process holds, a forked worker inherits (and may keep)
    pipe_ends: set[str] = set()
    held_by_workers: set[str] = set()
    for _, outcome in supervised_map(socket_inodes, range(6), n_jobs=2, chunk_size=1, start_method="fork"):
        pipe_ends |= socket_inodes() - before
        held_by_workers |= outcome.value
    assert pipe_ends and held_by_workers - before
    assert not pipe_ends & held_by_workers


def test_off_linux_a_fork_asked_for_is_a_spawn(monkeypatch):
    monkeypatch.setattr(sys, "platform", "darwin")
    ((_, outcome),) = supervised_map(frozen_objects, [0], start_method="fork")
    assert outcome.value == 0  # a spawned worker: nothing inherited, nothing frozen
