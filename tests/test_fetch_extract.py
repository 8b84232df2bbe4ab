"""Archive extraction: what stays inside is written, anything that escapes or explodes refuses the archive."""
from __future__ import annotations

import io
import os
import tarfile

import pytest
from fetch_helpers import make_tar, make_zip

from penta_core.fetch.extract import Limits, UnsafeArchive, extract_archive

LIMITS = Limits(max_total_bytes=50 * 2**20, max_files=100, max_ratio=200.0)


def _files(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_a_zip_is_extracted_with_its_folders(tmp_path):
    archive = make_zip(tmp_path / "a.zip", {"set/happy/a.mid": b"MThd1", "set/sad/b.mid": b"MThd2"})
    report = extract_archive(archive, tmp_path / "out", LIMITS)
    assert _files(tmp_path / "out") == ["set/happy/a.mid", "set/sad/b.mid"]
    assert (tmp_path / "out/set/sad/b.mid").read_bytes() == b"MThd2"
    assert (report.files, report.bytes) == (2, 10)


def test_a_tar_gz_is_extracted(tmp_path):
    archive = make_tar(tmp_path / "a.tar.gz", {"q1/a.mid": b"x" * 10, "./q2/b.mid": b"y"})
    extract_archive(archive, tmp_path / "out", LIMITS)
    assert _files(tmp_path / "out") == ["q1/a.mid", "q2/b.mid"]


@pytest.mark.parametrize("name", ["../evil.mid", "set/../../evil.mid", "/tmp/evil.mid", "C:/evil.mid",
                                  "..\\evil.mid"])
def test_a_member_escaping_the_folder_refuses_the_zip_and_writes_nothing(tmp_path, name):
    archive = make_zip(tmp_path / "a.zip", {"ok.mid": b"fine", name: b"evil"})
    with pytest.raises(UnsafeArchive, match="outside the folder") as err:
        extract_archive(archive, tmp_path / "box" / "out", LIMITS)
    assert "a.zip" in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / "box" / "out").exists()
    assert not (tmp_path / "evil.mid").exists() and not (tmp_path / "box" / "evil.mid").exists()


def test_a_tar_member_escaping_the_folder_refuses_it(tmp_path):
    archive = make_tar(tmp_path / "a.tgz", {"ok.mid": b"fine", "../evil.mid": b"evil"})
    with pytest.raises(UnsafeArchive, match="outside the folder"):
        extract_archive(archive, tmp_path / "out", LIMITS)
    assert not (tmp_path / "out").exists() and not (tmp_path / "evil.mid").exists()


@pytest.mark.parametrize("target", ["/etc/passwd", "../../outside", "a/../../x"])
def test_a_symbolic_link_out_of_a_tar_refuses_it(tmp_path, target):
    archive = make_tar(tmp_path / "a.tar", {"ok.mid": b"fine"}, symlinks={"link.mid": target})
    with pytest.raises(UnsafeArchive, match="symbolic link"):
        extract_archive(archive, tmp_path / "out", LIMITS)
    assert not (tmp_path / "out").exists()


def test_a_hard_link_out_of_a_tar_refuses_it(tmp_path):
    archive = make_tar(tmp_path / "a.tar", {"ok.mid": b"fine"}, hardlinks={"hard.mid": "../../etc/passwd"})
    with pytest.raises(UnsafeArchive, match="hard link"):
        extract_archive(archive, tmp_path / "out", LIMITS)


def test_a_symbolic_link_out_of_a_zip_refuses_it(tmp_path):
    archive = make_zip(tmp_path / "a.zip", {"ok.mid": b"fine"}, links={"link.mid": "/etc/passwd"})
    with pytest.raises(UnsafeArchive, match="link to '/etc/passwd'"):
        extract_archive(archive, tmp_path / "out", LIMITS)


def test_links_that_stay_inside_are_skipped_and_counted(tmp_path):
    archive = make_tar(tmp_path / "a.tar", {"d/ok.mid": b"fine"}, symlinks={"d/same.mid": "ok.mid"},
                       hardlinks={"d/hard.mid": "d/ok.mid"})
    report = extract_archive(archive, tmp_path / "out", LIMITS)
    assert _files(tmp_path / "out") == ["d/ok.mid"] and report.links_skipped == 2
    assert not (tmp_path / "out/d/same.mid").is_symlink()


def test_a_zip_bomb_is_refused_by_its_compression_ratio(tmp_path):
    archive = make_zip(tmp_path / "bomb.zip", {"zeros.mid": bytes(4 * 2**20)})
    with pytest.raises(UnsafeArchive, match=r"bomb.zip.*expands \d+ times its size, above fetch.max_ratio = 200"):
        extract_archive(archive, tmp_path / "out", LIMITS)
    assert not (tmp_path / "out").exists()


def test_too_many_members_refuse_the_archive(tmp_path):
    archive = make_zip(tmp_path / "many.zip", {f"{i}.mid": b"x" for i in range(11)})
    with pytest.raises(UnsafeArchive, match=r"11 members, above fetch\.max_files = 10"):
        extract_archive(archive, tmp_path / "out", Limits(2**30, 10, 1e9))


def test_too_many_bytes_refuse_the_archive(tmp_path):
    archive = make_tar(tmp_path / "big.tar", {"a.mid": bytes(2 * 2**20)})
    with pytest.raises(UnsafeArchive, match=r"2\.0 MB uncompressed, above fetch\.max_total_mb = 1"):
        extract_archive(archive, tmp_path / "out", Limits(2**20, 10, 1e9))


def test_a_member_named_twice_refuses_the_archive(tmp_path):
    archive = tmp_path / "twice.tar"
    with tarfile.open(archive, "w") as tf:
        info = tarfile.TarInfo("a.mid")
        info.size = 3
        tf.addfile(info, io.BytesIO(b"one"))
    with tarfile.open(archive, "a") as tf:
        info = tarfile.TarInfo("a.mid")
        info.size = 3
        tf.addfile(info, io.BytesIO(b"two"))
    with pytest.raises(UnsafeArchive, match="named twice"):
        extract_archive(archive, tmp_path / "out", LIMITS)


def test_a_name_that_is_not_utf8_is_written_as_its_bytes_for_the_import_to_quarantine(tmp_path):
    archive = tmp_path / "latin1.tar"
    with tarfile.open(archive, "w", encoding="utf-8", errors="surrogateescape") as tf:
        info = tarfile.TarInfo(os.fsdecode(b"caf\xe9.mid"))
        info.size = 4
        tf.addfile(info, io.BytesIO(b"MThd"))
    extract_archive(archive, tmp_path / "out", LIMITS)
    assert os.listdir(os.fsencode(tmp_path / "out")) == [b"caf\xe9.mid"]


def test_a_gzip_tar_bomb_is_refused_before_it_is_decompressed_whole(tmp_path, monkeypatch):
    archive = tmp_path / "bomb.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        for i in range(40):
            info = tarfile.TarInfo(f"{i}.mid")
            info.size = 2**20
            tf.addfile(info, io.BytesIO(bytes(2**20)))
    seen = []
    original = tarfile.TarFile.next

    def counting(self):
        member = original(self)
        seen.append(member)
        return member

    monkeypatch.setattr(tarfile.TarFile, "next", counting)
    with pytest.raises(UnsafeArchive, match="expands"):
        extract_archive(archive, tmp_path / "out", LIMITS)
    assert len(seen) < 40  # the listing stopped at the limit
