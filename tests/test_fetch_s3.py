"""An s3:// source through the S3 filesystem DVC ships, against a moto server on 127.0.0.1."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fetch_helpers import make_zip, midi_bytes, sha256

from penta_core.core.layout import DatasetLayout
from penta_core.core.params import resolve
from penta_core.fetch.checksum import ChecksumMismatch
from penta_core.fetch.sources import fetch_sources


@pytest.fixture
def s3_endpoint(monkeypatch):
    exe = shutil.which("moto_server") or str(Path(sys.executable).parent / "moto_server")
    if not os.path.exists(exe):
        pytest.skip("moto[server] is not installed (pip install 'moto[server]'); CI installs it")
    pytest.importorskip("s3fs", reason="s3fs (which dvc-s3 brings) is not installed")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen([exe, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("moto_server did not start within 30 s")
                time.sleep(0.2)
        endpoint = f"http://127.0.0.1:{port}"
        for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                           "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": endpoint}.items():
            monkeypatch.setenv(key, value)
        yield endpoint
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_an_s3_source_is_downloaded_verified_and_extracted(tmp_path, s3_endpoint):
    import boto3

    archive = make_zip(tmp_path / "set.zip", {"happy/a.mid": midi_bytes(tmp_path, 60)})
    s3 = boto3.client("s3", endpoint_url=s3_endpoint)
    s3.create_bucket(Bucket="corpora")
    s3.upload_file(str(archive), "corpora", "emo/set.zip")

    def params(digest):
        return resolve({"dataset": {"name": "ds", "root": str(tmp_path / "datasets"),
                                    "source": {"url": "s3://corpora/emo/set.zip", "sha256": digest}}})

    layout = DatasetLayout.from_params(params(sha256(archive)))
    with pytest.raises(ChecksumMismatch):
        fetch_sources(params("c" * 64), layout)
    assert not layout.sources_dir.exists()
    report = fetch_sources(params(sha256(archive)), layout)
    assert report.downloaded == ["s3://corpora/emo/set.zip"]
    assert (layout.sources_dir / "set" / "happy" / "a.mid").read_bytes() == midi_bytes(tmp_path, 60)
