"""Helpers shared by the reliability tests: raw MIDI bytes, hostile mutations, run hooks.

Nothing here is a fixture: the tests keep their fixtures local.
"""
from __future__ import annotations

import os
import signal
import struct
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from penta_core.core.io import TMP_PREFIX

# --------------------------------------------------------------------------- raw MIDI


def vlq(value: int) -> bytes:
    """MIDI variable-length quantity (values above 0x0FFFFFFF give an over-long, illegal one)."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def mthd(fmt: int = 1, ntracks: int = 1, division: int = 480, length: int = 6) -> bytes:
    return b"MThd" + struct.pack(">IHHH", length, fmt, ntracks, division)


def mtrk(body: bytes, length: int | None = None) -> bytes:
    """A track chunk; ``length`` may lie about the body."""
    return b"MTrk" + struct.pack(">I", len(body) if length is None else length) + body


END_OF_TRACK = b"\x00\xff\x2f\x00"


def tempo_event(us_per_quarter: int, delta: int = 0) -> bytes:
    return vlq(delta) + b"\xff\x51\x03" + us_per_quarter.to_bytes(3, "big")


def notes_body(pitches=(60, 64, 67), ticks: int = 240, note_off: bool = True) -> bytes:
    body = b""
    for pitch in pitches:
        body += b"\x00\x90" + bytes([pitch, 90])
        if note_off:
            body += vlq(ticks) + b"\x80" + bytes([pitch, 0])
    return body + END_OF_TRACK


def midi_chunks(data: bytes) -> list[tuple[int, bytes, int]]:
    """``(offset, type, declared length)`` of each chunk header found walking ``data``."""
    found, pos = [], 0
    while pos + 8 <= len(data):
        kind, length = data[pos:pos + 4], struct.unpack(">I", data[pos + 4:pos + 8])[0]
        found.append((pos, kind, length))
        pos += 8 + length
    return found


def set_chunk_length(data: bytes, which: int, length: int) -> bytes:
    """Make chunk number ``which`` (modulo the chunk count) declare ``length`` bytes."""
    chunks = midi_chunks(data)
    if not chunks:
        return data
    offset = chunks[which % len(chunks)][0]
    return data[:offset + 4] + struct.pack(">I", length & 0xFFFFFFFF) + data[offset + 8:]


def insert_in_first_track(data: bytes, events: bytes) -> bytes:
    """Put raw ``events`` at the start of the first track, fixing its declared length."""
    for offset, kind, length in midi_chunks(data):
        if kind == b"MTrk":
            start = offset + 8
            return data[:offset + 4] + struct.pack(">I", length + len(events)) + events + data[start:]
    return data


def set_track_count(data: bytes, ntracks: int) -> bytes:
    """Make the header claim ``ntracks`` tracks (whatever the file holds)."""
    if not data.startswith(b"MThd") or len(data) < 14:
        return data
    return data[:10] + struct.pack(">H", ntracks & 0xFFFF) + data[12:]


def flip_bits(data: bytes, flips: list[tuple[float, int]]) -> bytes:
    buf = bytearray(data)
    for where, bit in flips:
        if buf:
            buf[min(int(where * len(buf)), len(buf) - 1)] ^= 1 << bit
    return bytes(buf)


def truncate(data: bytes, fraction: float) -> bytes:
    return data[: int(len(data) * fraction)]


# Fragments of track bodies that real-world broken files contain: running status with no
# status before it, running status after a meta or sysex event (which cancels it), undefined
# and real-time status bytes, over-long and maximal delta times, zero and absurd tempos.
NASTY_FRAGMENTS: dict[str, bytes] = {
    "note_on": b"\x00\x90\x3c\x64",
    "note_off": b"\x60\x80\x3c\x00",
    "running_data": b"\x10\x3e\x64",
    "meta_text": b"\x00\xff\x01\x03abc",
    "sysex": b"\x00\xf0\x03\x7e\x7f\xf7",
    "undefined_status": b"\x00\xf4\x01",
    "realtime": b"\x00\xf8",
    "huge_delta": vlq(0x0FFFFFFF) + b"\x90\x40\x64",
    "overlong_delta": b"\xff\xff\xff\xff\xff\x7f\x90\x41\x64",
    "tempo_zero": tempo_event(0),
    "tempo_absurd": tempo_event(0xFFFFFF),
    "tempo_tiny": tempo_event(1),
    "meta_lying_length": b"\x00\xff\x03\x7f\x41",
    "end_of_track": END_OF_TRACK,
}


def track_from_fragments(names: list[str]) -> bytes:
    return mtrk(b"".join(NASTY_FRAGMENTS[n] for n in names))


def many_tracks(count: int, with_notes: bool = True) -> bytes:
    """A format-1 file with ``count`` tracks (the first holds notes when asked)."""
    first = mtrk(notes_body() if with_notes else END_OF_TRACK)
    return mthd(1, count, 480) + first + mtrk(END_OF_TRACK) * (count - 1)


# --------------------------------------------------------------------------- accounting


def one_line_reason(reason: object) -> bool:
    return isinstance(reason, str) and bool(reason.strip()) and "\n" not in reason and "\r" not in reason


def temp_files(folder: Path) -> list[str]:
    """Partial files an atomic write left behind below ``folder``."""
    return sorted(p.relative_to(folder).as_posix() for p in Path(folder).rglob(TMP_PREFIX + "*"))


def files_below(folder: Path) -> set[str]:
    folder = Path(folder)
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()} if folder.exists() else set()


class Hang(Exception):
    """The code under test did not return within the test's own limit."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`Hang` in the main thread if the block runs longer than ``seconds``."""
    def expire(signum, frame):
        raise Hang(f"still running after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# --------------------------------------------------------------------------- run hooks

# Loaded at interpreter start (``sitecustomize`` on PYTHONPATH) by a stage run by DVC and
# by its worker processes. It wraps ``os.replace``, the rename that ends every atomic write
# (``penta_core.core.io.atomic_write_bytes``'s, and the import's batched copies of
# ``penta_core.sources.durable_batch``, which sync a whole batch of temp files before renaming
# them): the bytes are written and synced, the temp file is there under its temp name. Only
# renames of penta temp files below PENTA_TEST_HOOK_DIR are affected:
# each sleeps PENTA_TEST_HOOK_DELAY_S, and the PENTA_TEST_HOOK_KILL_AT-th one (counted
# across processes in PENTA_TEST_HOOK_COUNTER) SIGKILLs the whole process group, which
# is how an operator's `kill -9` of the run or a power cut leaves it. Library code is
# untouched: the hook only changes timing and where the process dies.
SITECUSTOMIZE = textwrap.dedent('''
    import os, signal, time

    _dir = os.environ.get("PENTA_TEST_HOOK_DIR")
    if _dir:
        _replace = os.replace
        _prefix = os.environ.get("PENTA_TEST_HOOK_TMP_PREFIX", ".penta-tmp-")

        def replace(src, dst, **kwargs):
            target = os.path.abspath(os.fsdecode(src))
            if os.path.basename(target).startswith(_prefix) and _dir in target:
                _hook()
            return _replace(src, dst, **kwargs)

        def _hook():
            kill_at = int(os.environ.get("PENTA_TEST_HOOK_KILL_AT", "0"))
            if kill_at:
                counter = os.open(os.environ["PENTA_TEST_HOOK_COUNTER"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
                os.write(counter, b".")
                count = os.fstat(counter).st_size
                os.close(counter)
                if count >= kill_at:
                    os.killpg(os.getpgrp(), signal.SIGKILL)
            time.sleep(float(os.environ.get("PENTA_TEST_HOOK_DELAY_S", "0")))

        os.replace = replace
''')


def hook_env(hook_dir: Path, target_dir: str, *, delay_s: float = 0.0, kill_at: int = 0) -> dict[str, str]:
    """Environment for a subprocess whose atomic writes below ``target_dir`` are slowed or killed."""
    hook_dir.mkdir(parents=True, exist_ok=True)
    (hook_dir / "sitecustomize.py").write_text(SITECUSTOMIZE)
    counter = hook_dir / "writes.count"
    counter.unlink(missing_ok=True)
    env = dict(os.environ)
    env["PYTHONPATH"] = str(hook_dir) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.update({
        "PENTA_TEST_HOOK_DIR": target_dir,
        "PENTA_TEST_HOOK_DELAY_S": str(delay_s),
        "PENTA_TEST_HOOK_KILL_AT": str(kill_at),
        "PENTA_TEST_HOOK_COUNTER": str(counter),
    })
    return env
