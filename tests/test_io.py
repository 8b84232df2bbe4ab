"""Atomic, canonical output."""
from __future__ import annotations

import errno
import json

import pytest

from penta_core.core.errors import OutputError
from penta_core.core.io import atomic_write_bytes, dumps_json, write_json


def test_json_is_canonical_sorted_with_trailing_newline(tmp_path):
    path = write_json(tmp_path / "a.json", {"b": 1, "a": {"z": [1, 2], "y": "é"}})
    text = path.read_text(encoding="utf-8")
    assert text.endswith("}\n") and text.index('"a"') < text.index('"b"') and "é" in text
    assert json.loads(text) == {"a": {"y": "é", "z": [1, 2]}, "b": 1}


def test_nan_is_refused_rather_than_written():
    with pytest.raises(ValueError):
        dumps_json({"x": float("nan")})


def test_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    target = atomic_write_bytes(tmp_path / "out.bin", b"old")

    def boom(*_):
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", boom)
    with pytest.raises(OSError):
        atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_a_full_disk_is_an_output_error_naming_the_file_and_leaves_no_temp(tmp_path, monkeypatch):
    def full(*_):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("os.replace", full)
    with pytest.raises(OutputError) as err:
        atomic_write_bytes(tmp_path / "out.bin", b"new")
    assert err.value.errno == errno.ENOSPC
    assert str(err.value).startswith(f"cannot write '{tmp_path / 'out.bin'}': No space left on device;")
    assert list(tmp_path.iterdir()) == []


def test_an_os_error_the_user_cannot_fix_is_not_dressed_as_one(tmp_path, monkeypatch):
    def odd(*_):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr("os.replace", odd)
    with pytest.raises(OSError) as err:
        atomic_write_bytes(tmp_path / "out.bin", b"new")
    assert not isinstance(err.value, OutputError)

