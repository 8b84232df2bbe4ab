"""The feature table's Parquet parts: same rows, same bytes; an unchanged part keeps its file."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from penta_core.features.parts import FeatureRows, part_files, read_columns, read_parts, write_parts

COLUMNS = ("tempo_bpm", "pitch_mean", "note_density")


def _rows(n: int, start: int = 0) -> FeatureRows:
    ids = [f"{i * 7919 % 100003:05d}{i:04d}" for i in range(start, start + n)]
    order = sorted(range(n), key=ids.__getitem__)
    rng = np.random.default_rng(start)
    X = rng.normal(size=(n, len(COLUMNS)))
    rows = FeatureRows(ids, list(ids), ["midi"] * n, [f"sha{i}" for i in ids], ["key"] * n,
                       [["single_note"] if k % 5 == 0 else [] for k in range(n)], ["minor"] * n,
                       ['{"k":1}'] * n, COLUMNS, X)
    return rows.take(order)


def _merge(a: FeatureRows, b: FeatureRows) -> FeatureRows:
    both = FeatureRows(a.ids + b.ids, a.groups + b.groups, a.kinds + b.kinds, a.sha256 + b.sha256,
                       a.feature_keys + b.feature_keys, a.flags + b.flags, a.modes + b.modes,
                       a.details + b.details, COLUMNS, np.vstack([a.X, b.X]))
    return both.take(sorted(range(len(both)), key=both.ids.__getitem__))


def _files(folder):
    return {p.name: p.read_bytes() for p in part_files(folder)}


def test_parts_read_back_exactly_what_was_written(tmp_path):
    rows = _rows(2000)
    written, _ = write_parts(tmp_path, rows)
    back = read_parts(tmp_path, COLUMNS)
    assert written == len(part_files(tmp_path)) > 1
    assert back.ids == rows.ids and back.flags == rows.flags and np.array_equal(back.X, rows.X)


def test_adding_rows_rewrites_few_parts_and_equals_a_clean_build(tmp_path):
    base, extra = _rows(2000), _rows(10, start=5000)
    write_parts(tmp_path / "inc", base)
    before = _files(tmp_path / "inc")
    written, removed = write_parts(tmp_path / "inc", _merge(base, extra))
    after = _files(tmp_path / "inc")
    assert written == removed <= 10 and len(set(before) & set(after)) >= len(before) - 10
    write_parts(tmp_path / "clean", _merge(base, extra))
    assert after == _files(tmp_path / "clean")


def test_rewriting_the_same_rows_writes_nothing(tmp_path):
    rows = _rows(500)
    write_parts(tmp_path, rows)
    assert write_parts(tmp_path, rows) == (0, 0)


def test_a_row_left_twice_by_a_killed_run_is_read_once(tmp_path):
    rows = _rows(300)
    write_parts(tmp_path / "a", rows)
    write_parts(tmp_path / "b", rows.take(range(10)))
    for path in part_files(tmp_path / "b"):
        (tmp_path / "a" / ("features-zz" + path.name[9:])).write_bytes(path.read_bytes())
    assert read_parts(tmp_path / "a", COLUMNS).ids == rows.ids


def test_an_unreadable_part_is_skipped(tmp_path):
    write_parts(tmp_path, _rows(4000))
    first = part_files(tmp_path)[0]
    first.write_bytes(b"not parquet")
    assert 0 < len(read_parts(tmp_path, COLUMNS)) < 4000


def test_a_column_subset_reads_the_rows_and_values_of_the_whole_table(tmp_path):
    rows = _rows(2000)
    write_parts(tmp_path / "table", rows)
    write_parts(tmp_path / "journal", rows.take(range(10)))  # a part holding rows the table already has
    for path in part_files(tmp_path / "journal"):
        shutil.copy(path, tmp_path / "table" / path.name)
    ids, X = read_columns(tmp_path / "table", ["note_density", "tempo_bpm"])
    whole = read_parts(tmp_path / "table")
    assert ids == whole.ids == rows.ids  # once per id, sorted
    assert np.array_equal(X, whole.X[:, [2, 0]])
    with pytest.raises(KeyError, match="no column 'nope'"):
        read_columns(tmp_path / "table", ["nope"])


def _table_layout(layout, rows):
    from penta_core.core.io import write_json

    write_parts(layout.features_dir, rows)
    write_json(layout.index("features"), {"columns": list(COLUMNS), "samples": {}, "summary": {}})


def test_the_rows_file_holds_the_rows_load_feature_table_returns(layout):
    from penta_core.features.table import FeatureRowsFile, load_feature_table

    _table_layout(layout, _rows(2500))
    ids, columns, X = load_feature_table(layout)
    with FeatureRowsFile(layout) as table:
        assert table.ids == ids and table.columns == list(columns) and table.shape == X.shape
        assert np.array_equal(table[range(len(ids))], X)
        assert np.array_equal(table[[7, 3, 7]], X[[7, 3, 7]])
        assert table.position(ids[11]) == 11 and table.position("nope") is None


def test_the_rows_file_keeps_the_first_copy_of_a_row_stored_twice(layout):
    from penta_core.features.table import FeatureRowsFile, load_feature_table

    rows = _rows(300)
    _table_layout(layout, rows)
    twice = rows.take(range(0, 300, 10))
    twice.X = twice.X + 1.0  # a journal part's stale copy
    journal = tmp = layout.features_dir / "journal"
    write_parts(tmp, twice)
    for path in part_files(journal):
        shutil.move(path, layout.features_dir / path.name)
    ids, _, X = load_feature_table(layout)
    with FeatureRowsFile(layout) as table:
        assert table.ids == ids and np.array_equal(table[range(len(ids))], X)


def test_the_rows_file_of_a_table_without_parts_is_empty_with_the_indexed_columns(layout):
    from penta_core.core.io import write_json
    from penta_core.features.table import FeatureRowsFile

    write_json(layout.index("features"), {"columns": list(COLUMNS), "samples": {}, "summary": {}})
    with FeatureRowsFile(layout) as table:
        assert table.ids == [] and table.columns == list(COLUMNS) and table[[]].shape == (0, len(COLUMNS))


def test_iter_parts_gives_every_stored_row_a_part_at_a_time(tmp_path):
    from penta_core.features.parts import iter_parts

    rows = _rows(2000)
    write_parts(tmp_path, rows)
    parts = list(iter_parts(tmp_path, COLUMNS))
    assert len(parts) == len(part_files(tmp_path)) > 1
    whole = read_parts(tmp_path, COLUMNS, unique=False)
    got = sorted((i, tuple(p.X[k])) for p in parts for k, i in enumerate(p.ids))
    assert got == sorted((i, tuple(whole.X[k])) for k, i in enumerate(whole.ids))
