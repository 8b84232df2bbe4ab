"""What a compiled SMF scan would save: the MIDI reader in C (a throwaway probe) beside ``smf_read.read_smf``.

Issue 10's augment target (≤ MidiTok per variant) is missed mostly per
parent: our reader parses a file in about 0.3 ms where symusic takes 0.03.
Before deciding on a compiled extension (a C compiler at install time), this
measures what one would give, on the generated corpus (``_corpus.py``):

* ``read_smf``, the pure-Python reader the augment stage uses;
* the C scan alone: every event's delta, status, data bytes and byte span
  into one int64 array (the loop ``read_smf`` runs in Python);
* the C scan plus building exactly ``read_smf``'s tracks from that array
  (note rows with numpy, the few other events through ``read_smf``'s own
  decoded-event caches), checked equal to ``read_smf``'s on every file;
* symusic's ``Score.from_midi`` (C++), the parse MidiTok stands on.

The C source is compiled into a temporary folder with ``cc -O2``; without a
compiler the script says so and exits 0. Nothing in the pipeline uses it.

Usage::

    python benchmarks/native_smf_probe.py [--files 1000] [--repeat 5]
"""
from __future__ import annotations

import argparse
import ctypes
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _corpus import describe, write_corpus

from penta_core.midi import smf_read
from penta_core.midi.smf_read import Track, Unusual, read_smf

# One row of 8 int64 per event: seq, delta, status, data1, data2, start, end, track.
# Meta: start is the type byte, end the byte after the payload. SysEx: start is the payload,
# end the byte after it. Channel events: data1, data2 (-1 when absent). Returns the number of
# events, -1 when the file needs the Python reader (anything unusual), -2 when out is too small.
C_SOURCE = r"""
#include <stdint.h>
#include <stddef.h>
static int vlq(const uint8_t *d, size_t n, size_t *pos, int64_t *value) {
    int64_t v = 0;
    for (int i = 0; i < 4; i++) {
        if (*pos >= n) return -1;
        uint8_t b = d[(*pos)++];
        v = (v << 7) | (b & 0x7F);
        if (b < 0x80) { *value = v; return 0; }
    }
    return -1;
}
static uint32_t be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
int64_t scan(const uint8_t *d, size_t n, int64_t *out, int64_t cap, int64_t *head) {
    if (n < 14 || d[0] != 'M' || d[1] != 'T' || d[2] != 'h' || d[3] != 'd') return -1;
    uint32_t size = be32(d + 4);
    if (size < 6) return -1;
    head[0] = (int16_t)((d[8] << 8) | d[9]);
    int64_t tracks = (int16_t)((d[10] << 8) | d[11]);
    head[1] = tracks;
    head[2] = (int16_t)((d[12] << 8) | d[13]);
    size_t pos = 8 + (size_t)size;
    int64_t count = 0;
    for (int64_t t = 0; t < tracks; t++) {
        if (pos + 8 > n || d[pos] != 'M' || d[pos + 1] != 'T' || d[pos + 2] != 'r' || d[pos + 3] != 'k') return -1;
        size_t end = pos + 8 + be32(d + pos + 4);
        pos += 8;
        if (end > n) return -1;
        int running = -1;
        int64_t seq = -1;
        while (pos < end) {
            if (count >= cap) return -2;
            int64_t *row = out + 8 * count;
            seq++;
            int64_t delta;
            if (vlq(d, n, &pos, &delta)) return -1;
            if (pos >= n) return -1;
            int status = d[pos];
            if (status < 0x80) {
                if (running < 0) return -1;
                status = running;
            } else {
                pos++;
            }
            row[0] = seq; row[1] = delta; row[2] = status; row[3] = -1; row[4] = -1; row[7] = t;
            if (status < 0xA0) {
                if (pos + 2 > n || d[pos] > 0x7F || d[pos + 1] > 0x7F) return -1;
                row[3] = d[pos]; row[4] = d[pos + 1];
                row[5] = (int64_t)pos; pos += 2; row[6] = (int64_t)pos;
                running = status;
            } else if (status == 0xFF) {
                row[5] = (int64_t)pos;
                size_t after_type = pos + 1;
                int64_t len;
                if (vlq(d, n, &after_type, &len)) return -1;
                pos = after_type + (size_t)len;
                if (pos > n) return -1;
                row[6] = (int64_t)pos;
            } else if (status == 0xF0) {
                int64_t len;
                if (vlq(d, n, &pos, &len)) return -1;
                row[5] = (int64_t)pos;
                pos += (size_t)len;
                if (pos > n) return -1;
                row[6] = (int64_t)pos;
                running = -1;
            } else {
                int hi = status & 0xF0;
                int length = (hi == 0xC0 || hi == 0xD0) ? 1 : (hi >= 0xA0 && hi <= 0xE0) ? 2 : -1;
                if (length < 0 || pos + (size_t)length > n) return -1;
                row[3] = d[pos];
                if (d[pos] > 0x7F) return -1;
                if (length == 2) { row[4] = d[pos + 1]; if (d[pos + 1] > 0x7F) return -1; }
                row[5] = (int64_t)pos; pos += (size_t)length; row[6] = (int64_t)pos;
                running = status;
            }
            count++;
        }
        if (pos != end) return -1;
    }
    return count;
}
"""


def build(folder: Path) -> ctypes.CDLL | None:
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        return None
    source, library = folder / "smfscan.c", folder / "smfscan.so"
    source.write_text(C_SOURCE)
    subprocess.run([compiler, "-O2", "-shared", "-fPIC", "-o", str(library), str(source)], check=True)
    lib = ctypes.CDLL(str(library))
    lib.scan.restype = ctypes.c_int64
    lib.scan.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p]
    return lib


class Scanner:
    def __init__(self, lib: ctypes.CDLL, capacity: int = 1 << 16) -> None:
        self.lib = lib
        self.out = np.empty(8 * capacity, dtype=np.int64)
        self.head = np.empty(3, dtype=np.int64)

    def events(self, data: bytes) -> tuple[int, np.ndarray]:
        count = self.lib.scan(data, len(data), self.out.ctypes.data, self.out.size // 8, self.head.ctypes.data)
        if count == -2:
            self.out = np.empty(2 * self.out.size, dtype=np.int64)
            return self.events(data)
        if count < 0:
            raise Unusual("the C scan leaves this file to the Python reader")
        return count, self.out[:8 * count].reshape(count, 8)

    def read(self, data: bytes) -> tuple[int, int, list[Track]]:
        """``read_smf(data)``'s result from the C scan (the same caches decode the non-note events)."""
        _, rows = self.events(data)
        file_type, n_tracks, tpq = (int(v) for v in self.head)
        bounds = np.searchsorted(rows[:, 7], np.arange(n_tracks + 1))
        is_note = rows[:, 2] < 0xA0
        tracks = []
        for t in range(n_tracks):
            lo, hi = int(bounds[t]), int(bounds[t + 1])
            part, notes = rows[lo:hi], is_note[lo:hi]
            others = []
            for seq, _, status, a, b, start, end, _ in part[~notes].tolist():
                if status == 0xFF:
                    key = data[start:end]
                    item = smf_read._META.get(key)
                    if item is None:  # the payload follows the type byte and its length
                        size = end - start - 1 - _vlq_len(data, start + 1)
                        item = smf_read._meta_item(key, data[start], data[end - size:end])
                elif status == 0xF0:
                    payload = data[start:end]
                    item = smf_read._sysex_item(payload[:-1] if payload[-1:] == b"\xf7" else payload)
                else:
                    raw = bytes((status, a)) if b < 0 else bytes((status, a, b))
                    item = smf_read._CHANNEL.get(raw) or smf_read.channel_item(raw)
                others.append((seq, item))
            tracks.append(Track(part[:, 1].tolist(), part[notes][:, [0, 2, 3, 4]].ravel().tolist(), others))
        return file_type, tpq, tracks


def _vlq_len(data: bytes, pos: int) -> int:
    length = 1
    while data[pos] >= 0x80:
        pos, length = pos + 1, length + 1
    return length


def best_ms(func, items: list[bytes], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        for data in items:
            func(data)
        best = min(best, time.process_time() - start)
    return 1000 * best / len(items)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="penta-smf-probe-") as tmp:
        lib = build(Path(tmp))
        if lib is None:
            print("no C compiler (cc or gcc) on PATH: nothing to measure")
            return 0
        clips = write_corpus(Path(tmp) / "corpus", args.files)
        items = [p.read_bytes() for p in sorted(clips.rglob("*.mid"))]
        scanner = Scanner(lib)
        unusual = 0
        for data in items:  # the same tracks, or the file is one the Python reader takes
            try:
                got = scanner.read(data)
            except Unusual:
                unusual += 1
                continue
            if got != read_smf(data):
                raise SystemExit("the C scan's tracks differ from read_smf's")
        import symusic

        print(f"{len(items)} files ({describe()}), {sum(map(len, items)) / len(items) / 1024:.1f} KB each; "
              f"{unusual} left to the Python reader; load average {os.getloadavg()[0]:.2f}")
        rows = {
            "read_smf (Python, what augment uses)": lambda d: read_smf(d),
            "C scan alone (events into an int64 array)": scanner.events,
            "C scan + read_smf's tracks built from it (equal)": scanner.read,
            "symusic Score.from_midi (C++, MidiTok's parse)": lambda d: symusic.Score.from_midi(d),
        }
        reference = None
        print(f"{'':<52}{'CPU ms/file':>12}{'vs read_smf':>13}")
        for label, func in rows.items():
            ms = best_ms(func, items, args.repeat)
            reference = reference or ms
            print(f"{label:<52}{ms:12.4f}{reference / ms:12.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
