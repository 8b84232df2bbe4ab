"""The HTTP side of the annotation page, on the standard library's threading server.

Routes: ``/`` (the queue), ``/overview`` (charts), ``/static/...``, and a JSON
API: ``GET /api/state``, ``GET /api/sample/<id>``, ``GET /api/audio/<id>``
(audio as is, MIDI rendered; byte ranges for seeking), ``POST /api/events``,
``GET /api/overview``, ``GET /api/labelstudio``. It binds 127.0.0.1 unless
told otherwise: the page writes into the dataset and has no login.
"""
from __future__ import annotations

import json
import mimetypes
import os
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from penta_core.annotate_ui.assets import static_dir
from penta_core.annotate_ui.labelstudio import export_tasks
from penta_core.annotate_ui.media import RenderCache, audio_type, piano_roll
from penta_core.annotate_ui.overview import overview
from penta_core.annotate_ui.session import ActionRejected, AnnotationSession
from penta_core.store.access import sample_bytes, sample_location

MAX_BODY = 1 << 20
SAMPLE_ROUTE = re.compile(r"/api/(sample|audio)/([A-Za-z0-9_.-]+)")


class AnnotationServer(ThreadingHTTPServer):
    """A threading HTTP server holding the session and the render cache its handlers use."""

    daemon_threads = True
    verbose = False  # log every request to stderr

    def __init__(self, address: tuple[str, int], session: AnnotationSession, renders: RenderCache,
                 compare_rev: str = "HEAD"):
        self.session = session
        self.renders = renders
        self.compare_rev = compare_rev
        super().__init__(address, Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/"


class Handler(BaseHTTPRequestHandler):
    server: AnnotationServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    # -- replies -------------------------------------------------------------------------------

    def _send(self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        # One request per connection: a browser never holds a connection to a server that has stopped.
        self.send_header("Connection", "close")
        self.close_connection = True
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, obj: Any, status: int = 200) -> None:
        self._send(status, json.dumps(obj, allow_nan=False).encode("utf-8"), "application/json; charset=utf-8")

    def _error(self, status: int, message: str) -> None:
        self._json({"error": message}, status)

    def _bytes_with_ranges(self, data: bytes, content_type: str) -> None:
        """``data``, or the byte range asked for (the audio element seeks with ranges)."""
        match = re.fullmatch(r"bytes=(\d*)-(\d*)", self.headers.get("Range", "").strip())
        if not match or not (match.group(1) or match.group(2)):
            self._send(200, data, content_type, {"Accept-Ranges": "bytes"})
            return
        first, last = match.groups()
        if first:
            start, end = int(first), min(int(last) if last else len(data) - 1, len(data) - 1)
        else:
            start, end = max(len(data) - int(last), 0), len(data) - 1
        if start >= len(data) or start > end:
            self._send(416, b"", content_type, {"Content-Range": f"bytes */{len(data)}"})
            return
        self._send(206, data[start:end + 1], content_type,
                   {"Accept-Ranges": "bytes", "Content-Range": f"bytes {start}-{end}/{len(data)}"})

    # -- routes --------------------------------------------------------------------------------

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        path = url.path
        try:
            if path in ("/", "/index.html"):
                self._static("index.html")
            elif path == "/favicon.ico":
                self._send(204, b"", "image/x-icon")
            elif path == "/overview":
                self._static("overview.html")
            elif path.startswith("/static/"):
                self._static(path[len("/static/"):])
            elif path == "/api/state":
                self._json(self.server.session.state())
            elif path == "/api/overview":
                rev = parse_qs(url.query).get("rev", [self.server.compare_rev])[0]
                self._json(overview(self.server.session, rev))
            elif path == "/api/labelstudio":
                body = json.dumps(export_tasks(self.server.session), indent=2, sort_keys=True).encode("utf-8")
                name = f"{self.server.session.layout.name}-label-studio.json"
                self._send(200, body, "application/json", {"Content-Disposition": f'attachment; filename="{name}"'})
            elif (match := SAMPLE_ROUTE.fullmatch(path)) is not None:
                what, sample_id = match.groups()
                if sample_id not in self.server.session.samples:
                    self._error(404, f"no sample {sample_id}")
                elif what == "sample":
                    self._sample(sample_id)
                else:
                    self._audio(sample_id)
            else:
                self._error(404, f"no page {path}")
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as err:  # a bad sample must not stop the server: say what failed
            self._error(500, f"{type(err).__name__}: {err}")

    def do_POST(self) -> None:
        if urlsplit(self.path).path != "/api/events":
            self._error(404, f"no route {self.path}")
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._error(413, "request too large")
            return
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
            actions = body.get("events") if isinstance(body, dict) else None
            if not isinstance(actions, list):
                raise ActionRejected("the body must be {\"events\": [...]}")
            reply = self.server.session.record(actions)
        except (json.JSONDecodeError, ActionRejected) as err:
            self._error(400, str(err))
            return
        except OSError as err:  # the log could not be written: the page keeps the action and retries
            self._error(503, f"could not write the event log: {err}")
            return
        self._json(reply | {"boot_id": self.server.session.boot_id})

    def _static(self, name: str) -> None:
        root = static_dir().resolve()
        target = (root / name).resolve()
        if root not in target.parents or not target.is_file():
            self._error(404, f"no file {name}")
            return
        content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if content_type.startswith("text/") or content_type.endswith("javascript"):
            content_type += "; charset=utf-8"
        self._send(200, target.read_bytes(), content_type)

    def _sample(self, sample_id: str) -> None:
        session = self.server.session
        sample = session.samples[sample_id]
        detail: dict[str, Any] = {"row": session.row(sample_id), "manifest": session.features(sample_id)}
        if sample["kind"] == "midi":
            detail["roll"] = piano_roll(sample_bytes(session.layout, sample))
        self._json(detail)

    def _audio(self, sample_id: str) -> None:
        session = self.server.session
        sample = session.samples[sample_id]
        data = sample_bytes(session.layout, sample)
        if sample["kind"] == "midi":
            self._bytes_with_ranges(self.server.renders.wav(data), "audio/wav")
        else:
            self._bytes_with_ranges(data, audio_type(sample_location(sample)))


def start_server(session: AnnotationSession, renders: RenderCache, host: str = "127.0.0.1", port: int = 8765,
                 compare_rev: str = "HEAD") -> tuple[AnnotationServer, threading.Thread]:
    """Start serving in a background thread; return the server (``.url``) and the thread."""
    server = AnnotationServer((host, port), session, renders, compare_rev)
    thread = threading.Thread(target=server.serve_forever, name="annotate-ui", daemon=True)
    thread.start()
    return server, thread


def default_cache_dir() -> Path:
    """Where MIDI renders are kept between runs (``$XDG_CACHE_HOME/penta_core/renders``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "penta_core" / "renders"


def serve_forever(session: AnnotationSession, renders: RenderCache, host: str, port: int, compare_rev: str) -> int:
    """Serve until interrupted (Ctrl-C); print the address first."""
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: serving on {host}: anyone who can reach it can change the labels (there is no login)",
              file=sys.stderr)
    server = AnnotationServer((host, port), session, renders, compare_rev)
    print(f"annotation page: {server.url}  (overview: {server.url}overview; Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
