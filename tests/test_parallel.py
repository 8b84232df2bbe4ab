"""Supervised workers: a crash, a hang or an exception fails one item, never the run."""
from __future__ import annotations

import os
import time

from penta_core.engine.parallel import supervised_map


def square_or_misbehave(x):
    if x == "crash":
        os._exit(3)  # as a segfaulting native parser would: no Python exception
    if x == "hang":
        time.sleep(60)
    if x == "raise":
        raise ValueError("bad input\nspread over lines")
    return x * x


def test_every_item_gets_an_outcome_and_bad_ones_a_reason():
    items = [2, "crash", 3, "hang", "raise", 4]
    results = dict(supervised_map(square_or_misbehave, items, n_jobs=2, timeout_s=3))
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
