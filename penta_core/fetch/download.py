"""Downloads that resume, retry, and count only once their sha256 matches.

A download is written to ``<sha256>.part`` in the dataset's download cache and
renamed to ``<sha256>`` only after its checksum matched: a partial file never
counts as the source, and the next run resumes it with an HTTP range request
(a server that ignores the range sends the whole file again, which restarts it).
A verified download is reused by every later fetch that pins the same sha256.
"""
from __future__ import annotations

import http.client
import importlib.util
import os
import shutil
import time
import urllib.error
import urllib.request
from pathlib import Path

from penta_core.core.errors import InputError, MissingTool
from penta_core.fetch.checksum import ChecksumMismatch, check_sha256

BLOCK = 1 << 16
RETRY_PAUSE_S = 0.2
KAGGLE_HELP = ("kaggle:// sources need the official client and an API token: pip install kaggle, then put "
               "kaggle.json (Kaggle > Settings > API > Create New Token) in ~/.kaggle/ or set "
               "KAGGLE_USERNAME and KAGGLE_KEY")


class DownloadFailed(InputError):
    """A source could not be downloaded after every retry."""


def _http_once(url: str, part: Path, timeout_s: float) -> None:
    """Fetch ``url`` into ``part``, continuing from what ``part`` already holds."""
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        response = urllib.request.urlopen(request, timeout=timeout_s)
    except urllib.error.HTTPError as err:
        if err.code == 416 and have:  # the range starts at the end: the part is whole already
            return
        raise
    with response:
        resumed = have and response.status == 206
        expected = response.headers.get("Content-Length")
        received = 0
        with open(part, "ab" if resumed else "wb") as out:
            while block := response.read(BLOCK):
                out.write(block)
                received += len(block)
        if expected is not None and received != int(expected):
            raise http.client.IncompleteRead(b"", int(expected) - received)


def download_http(url: str, dest: Path, sha256: str, retries: int, timeout_s: float) -> bool:
    """Download ``url`` to ``dest`` (verified), resuming ``dest``.part; ``False`` when ``dest`` was there already.

    Raises
    ------
    ChecksumMismatch : the whole file arrived and is not the one pinned (the part is deleted).
    DownloadFailed : every attempt failed; the part is kept so the next run resumes it.
    """
    if dest.exists():
        return False
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    last, done = "", False
    for attempt in range(retries + 1):
        try:
            _http_once(url, part, timeout_s)
            done = True
            break
        except urllib.error.HTTPError as err:
            last = f"HTTP {err.code} {err.reason}"
            if 400 <= err.code < 500 and err.code not in (408, 429):
                break  # the server will say the same again
        except (TimeoutError, urllib.error.URLError, http.client.HTTPException, ConnectionError, OSError) as err:
            last = str(getattr(err, "reason", None) or err) or type(err).__name__
        if attempt < retries:
            time.sleep(RETRY_PAUSE_S * (attempt + 1))
    if not done:
        part_size = part.stat().st_size if part.exists() else 0
        raise DownloadFailed(f"{url}: download failed after {attempt + 1} attempts ({last}); "
                             f"{part_size} bytes kept in {part}, the next run resumes them")
    _verified_rename(part, dest, sha256, url)
    return True


def download_s3(url: str, dest: Path, sha256: str, timeout_s: float) -> bool:
    """Download ``s3://bucket/key`` with the S3 filesystem DVC ships (s3fs; endpoint from ``AWS_ENDPOINT_URL``)."""
    if dest.exists():
        return False
    import fsspec

    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    options = {"config_kwargs": {"connect_timeout": timeout_s, "read_timeout": timeout_s}}
    if os.environ.get("AWS_ENDPOINT_URL"):
        options["endpoint_url"] = os.environ["AWS_ENDPOINT_URL"]
    try:
        fs = fsspec.filesystem("s3", **options)
        fs.get(url, str(part))
    except Exception as err:
        part.unlink(missing_ok=True)
        raise DownloadFailed(f"{url}: download failed ({type(err).__name__}: {err})") from None
    _verified_rename(part, dest, sha256, url)
    return True


def kaggle_ready() -> str | None:
    """``None`` when the kaggle client is installed and credentials exist, else the line telling what to do."""
    if importlib.util.find_spec("kaggle") is None:
        return f"the kaggle client is not installed; {KAGGLE_HELP}"
    config = Path(os.environ.get("KAGGLE_CONFIG_DIR", Path.home() / ".kaggle")) / "kaggle.json"
    if not config.is_file() and not (os.environ.get("KAGGLE_USERNAME") and os.environ.get("KAGGLE_KEY")):
        return f"no Kaggle credentials found ({config}); {KAGGLE_HELP}"
    return None


def download_kaggle(url: str, dest: Path, sha256: str) -> bool:
    """Download ``kaggle://owner/dataset`` as its zip through the official client."""
    if dest.exists():
        return False
    problem = kaggle_ready()
    if problem:
        raise MissingTool(f"{url}: {problem}")
    from kaggle.api.kaggle_api_extended import KaggleApi  # the official client; imported only when used

    slug = url.removeprefix("kaggle://").strip("/")
    work = dest.with_name(dest.name + ".kaggle")
    shutil.rmtree(work, ignore_errors=True)
    try:
        api = KaggleApi()
        api.authenticate()
        api.dataset_download_files(slug, path=str(work), unzip=False, quiet=True)
        zips = sorted(work.glob("*.zip"))
        if len(zips) != 1:
            raise DownloadFailed(f"{url}: the kaggle client wrote {len(zips)} zip files, expected one")
        check_sha256(zips[0], sha256, url)
        os.replace(zips[0], dest)
    except InputError:
        raise
    except Exception as err:
        raise DownloadFailed(f"{url}: kaggle download failed ({type(err).__name__}: {err})") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return True


def _verified_rename(part: Path, dest: Path, sha256: str, url: str) -> None:
    """Make ``part`` the download at ``dest`` if it hashes to ``sha256``; else delete it and raise."""
    try:
        check_sha256(part, sha256, url)
    except ChecksumMismatch:
        part.unlink()
        raise
    os.replace(part, dest)
