"""SampleLocator answers as member_location and sample_where do, shard by shard looked up once."""
from __future__ import annotations

import json

import pytest

from penta_core.core.layout import DatasetLayout
from penta_core.store.access import SampleLocator, member_location, sample_where


@pytest.fixture
def layout(tmp_path):
    root = tmp_path / "ds"
    (root / "processed").mkdir(parents=True)
    (root / "processed" / "s1.tar").write_bytes(b"\0" * 2048)
    (root / "processed" / "s1.json").write_text(json.dumps(
        {"members": [{"name": "a.mid", "offset": 512, "size": 10}, {"name": "b.mid", "offset": 1024, "size": 7}]}))
    (root / "processed" / "bare.tar").write_bytes(b"\0" * 1024)  # no catalogue beside it
    (root / "raw").mkdir()
    (root / "raw" / "c.mid").write_bytes(b"MThd")
    return DatasetLayout(root)


SAMPLES = [{"shard": "processed/s1.tar", "member": "a.mid"}, {"shard": "processed/s1.tar", "member": "b.mid"},
           {"path": "raw/c.mid"}]


def test_where_is_sample_where(layout):
    locate = SampleLocator(layout)
    assert [locate.where(s) for s in SAMPLES] == [sample_where(layout, s) for s in SAMPLES]


@pytest.mark.parametrize("shard, member", [("processed/s1.tar", "z.mid"), ("processed/bare.tar", "a.mid")])
def test_a_missing_member_or_catalogue_raises_what_member_location_raises(layout, shard, member):
    with pytest.raises(FileNotFoundError) as expected:
        member_location(layout.abs(shard), member)
    with pytest.raises(FileNotFoundError) as got:
        SampleLocator(layout).member_location(shard, member)
    assert str(got.value) == str(expected.value)


def test_each_catalogue_is_read_once(layout):
    locate = SampleLocator(layout)
    assert locate.member_location("processed/s1.tar", "a.mid") == (512, 10)
    (layout.root / "processed" / "s1.json").unlink()
    assert locate.member_location("processed/s1.tar", "b.mid") == (1024, 7)
