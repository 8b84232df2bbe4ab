"""Downloads from a server the test starts on 127.0.0.1: checksum, resume, then import and label from a CSV."""
from __future__ import annotations

import json
import re

import pytest
from fetch_helpers import ArchiveServer, make_zip, midi_bytes, sha256

from penta_core.annotate.stage import run as run_annotate
from penta_core.core.layout import DatasetLayout
from penta_core.core.params import resolve
from penta_core.fetch.checksum import ChecksumMismatch
from penta_core.fetch.download import DownloadFailed
from penta_core.fetch.extract import UnsafeArchive
from penta_core.fetch.sources import fetch_sources
from penta_core.sources.stage import run as run_import


def _params(tmp_path, retries=2, **extra):
    tree = {"dataset": {"name": "ds", "root": str(tmp_path / "datasets"), "source_dir": str(tmp_path / "unused")},
            "import": {"n_jobs": 1}, "fetch": {"retries": retries, "timeout_s": 10.0}}
    for group, values in extra.items():
        tree.setdefault(group, {}).update(values)
    return resolve(tree)


@pytest.fixture
def vgmidi_zip(tmp_path):
    """VGMIDI's layout: pieces in one folder, valence/arousal per piece in a CSV beside them."""
    return make_zip(tmp_path / "up" / "vgmidi.zip", {
        "vgmidi/labelled/midi/Banjo_0.mid": midi_bytes(tmp_path, 60),
        "vgmidi/labelled/midi/Zelda_1.mid": midi_bytes(tmp_path, 48),
        "vgmidi/labelled/midi/Other_2.mid": midi_bytes(tmp_path, 67),
        "vgmidi/vgmidi_labelled.csv": b"id,midi,valence,arousal\n0,labelled/midi/Banjo_0.mid,1,1\n"
                                      b"1,labelled/midi/Zelda_1.mid,-1,-1\n",
    })


def test_a_download_is_verified_extracted_imported_and_labelled_from_its_csv(tmp_path, vgmidi_zip):
    with ArchiveServer({"vgmidi.zip": vgmidi_zip.read_bytes()}) as server:
        params = _params(tmp_path, dataset={"source": {"url": server.url("vgmidi.zip"), "sha256": sha256(vgmidi_zip)}},
                         annotate={"labels": {"path": "vgmidi/vgmidi/vgmidi_labelled.csv", "file_column": "midi",
                                              "valence_column": "valence", "arousal_column": "arousal"}})
        layout = DatasetLayout.from_params(params)
        report = fetch_sources(params, layout)
    assert report.downloaded == [server.url("vgmidi.zip")]
    assert (layout.downloads_dir / sha256(vgmidi_zip)).read_bytes() == vgmidi_zip.read_bytes()
    run_import(params, layout)
    lines = run_annotate(params, layout)
    records = json.loads(layout.index("annotated").read_text())["annotations"]
    by_file = {r["sources"][0].rpartition("/")[2]: r for r in records.values()}
    assert (by_file["Banjo_0.mid"]["label"], by_file["Banjo_0.mid"]["label_source"]) == ("happy", "labels_file")
    assert (by_file["Zelda_1.mid"]["label"], by_file["Zelda_1.mid"]["valence"]) == ("sad", -1.0)
    assert by_file["Other_2.mid"]["label"] is None  # not in the table, and no folder names a label
    assert "2 labelled from" in lines[1]


def test_a_verified_download_is_reused_without_the_network(tmp_path, vgmidi_zip):
    with ArchiveServer({"vgmidi.zip": vgmidi_zip.read_bytes()}) as server:
        params = _params(tmp_path, dataset={"source": {"url": server.url("vgmidi.zip"), "sha256": sha256(vgmidi_zip)}})
        fetch_sources(params, DatasetLayout.from_params(params))
        again = fetch_sources(params, DatasetLayout.from_params(params))
    assert again.downloaded == [] and len(server.requests) == 1


def test_a_wrong_checksum_after_download_fails_and_keeps_nothing(tmp_path, vgmidi_zip):
    with ArchiveServer({"vgmidi.zip": vgmidi_zip.read_bytes()}) as server:
        params = _params(tmp_path, dataset={"source": {"url": server.url("vgmidi.zip"), "sha256": "a" * 64}})
        layout = DatasetLayout.from_params(params)
        with pytest.raises(ChecksumMismatch, match=f"expected a{{64}}, got {sha256(vgmidi_zip)}"):
            fetch_sources(params, layout)
    assert not layout.sources_dir.exists()
    assert list(layout.downloads_dir.iterdir()) == []  # neither the file nor a part to resume


def test_an_interrupted_download_resumes_where_it_stopped(tmp_path, vgmidi_zip):
    data = vgmidi_zip.read_bytes()
    with ArchiveServer({"vgmidi.zip": data}, cut_first=len(data) // 2) as server:
        params = _params(tmp_path, dataset={"source": {"url": server.url("vgmidi.zip"), "sha256": sha256(vgmidi_zip)}})
        layout = DatasetLayout.from_params(params)
        fetch_sources(params, layout)
    assert server.requests == [("vgmidi.zip", None), ("vgmidi.zip", f"bytes={len(data) // 2}-")]
    assert (layout.downloads_dir / sha256(vgmidi_zip)).read_bytes() == data


def test_a_partial_download_never_counts_and_the_next_run_resumes_it(tmp_path, vgmidi_zip):
    data = vgmidi_zip.read_bytes()
    cut = len(data) // 3
    with ArchiveServer({"vgmidi.zip": data}, cut_first=cut) as server:
        params = _params(tmp_path, retries=0,
                         dataset={"source": {"url": server.url("vgmidi.zip"), "sha256": sha256(vgmidi_zip)}})
        layout = DatasetLayout.from_params(params)
        with pytest.raises(DownloadFailed, match=f"{cut} bytes kept in .*part, the next run resumes them"):
            fetch_sources(params, layout)
        assert not layout.sources_dir.exists() and not (layout.downloads_dir / sha256(vgmidi_zip)).exists()
        fetch_sources(params, layout)
    assert server.requests[-1] == ("vgmidi.zip", f"bytes={cut}-")
    assert (layout.downloads_dir / sha256(vgmidi_zip)).read_bytes() == data


def test_a_missing_file_on_the_server_fails_without_retrying(tmp_path):
    with ArchiveServer({}) as server:
        params = _params(tmp_path, dataset={"source": {"url": server.url("gone.zip"), "sha256": "b" * 64}})
        with pytest.raises(DownloadFailed, match="HTTP 404"):
            fetch_sources(params, DatasetLayout.from_params(params))
    assert len(server.requests) == 1


def test_a_hostile_download_is_refused_with_its_reason_and_nothing_lands_outside(tmp_path):
    hostile = make_zip(tmp_path / "up" / "bad.zip", {"ok.mid": b"MThd", "../../outside.mid": b"evil"},
                       links={"link.mid": "/etc/passwd"})
    with ArchiveServer({"bad.zip": hostile.read_bytes()}) as server:
        params = _params(tmp_path, dataset={"source": {"url": server.url("bad.zip"), "sha256": sha256(hostile)}})
        layout = DatasetLayout.from_params(params)
        refusal = re.escape("bad.zip' refused: member '../../outside.mid' would be written outside")
        with pytest.raises(UnsafeArchive, match=refusal):
            fetch_sources(params, layout)
    assert not layout.sources_dir.exists() and not list(tmp_path.rglob("outside.mid"))


def test_a_labels_file_given_by_url_is_fetched_beside_the_sources(tmp_path, vgmidi_zip):
    csv = b"file,emotion\nBanjo_0,calm\n"
    (tmp_path / "labels.csv").write_bytes(csv)
    with ArchiveServer({"vgmidi.zip": vgmidi_zip.read_bytes(), "labels.csv": csv}) as server:
        params = _params(tmp_path, dataset={"source": {"url": server.url("vgmidi.zip"), "sha256": sha256(vgmidi_zip)}},
                         annotate={"labels": {"path": server.url("labels.csv"), "label_column": "emotion",
                                              "sha256": sha256(tmp_path / "labels.csv")}})
        layout = DatasetLayout.from_params(params)
        fetch_sources(params, layout)
    assert (layout.sources_dir / ".labels" / "labels.csv").read_bytes() == csv
    run_import(params, layout)
    run_annotate(params, layout)
    records = json.loads(layout.index("annotated").read_text())["annotations"].values()
    assert [r["label"] for r in records if r["label"]] == ["calm"]


def test_a_kept_download_damaged_on_disk_is_refused_then_downloaded_again(tmp_path, vgmidi_zip):
    with ArchiveServer({"vgmidi.zip": vgmidi_zip.read_bytes()}) as server:
        params = _params(tmp_path, dataset={"source": {"url": server.url("vgmidi.zip"), "sha256": sha256(vgmidi_zip)}})
        layout = DatasetLayout.from_params(params)
        fetch_sources(params, layout)
        (layout.downloads_dir / sha256(vgmidi_zip)).write_bytes(b"bit rot")
        with pytest.raises(ChecksumMismatch):
            fetch_sources(params, layout)
        assert fetch_sources(params, layout).downloaded == [server.url("vgmidi.zip")]
