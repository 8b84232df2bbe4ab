"""``penta-targets``: what a target derives from one MIDI file, for people and scripts.

::

    penta-targets harmony song.mid    # a MIREX .lab: start_s<TAB>end_s<TAB>Harte label, one segment a line
    penta-targets melody song.mid     # JSON: {"notes": [[onset_s, offset_s, pitch, velocity], ...]}
    penta-targets key song.mid        # JSON: {"tonic": 0-11, "mode": "major"|"minor", "confidence": ...}
    penta-targets groove take.mid     # JSON: {"tempo_bpm", "grid", "swing_ratio", "notes": [[onset_s, grid_s,
                                      #        offset_ms, velocity, velocity_adjust, voice], ...]}
    penta-targets dynamics song.mid   # JSON: {"expressive", "notes": [[onset_s, velocity, level, role], ...],
                                      #        "phrases": [[start_s, end_s, slope], ...]}

As in the pipeline, annotation files beside the file (``song.lab``,
``song.jams``, POP909's ``chord_midi.txt`` and ``key_audio.txt``) win over the
estimates; ``--no-annotations`` always estimates. An unknown target or a
file that cannot be read prints one line and exits with status 1.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

TARGETS = ("harmony", "melody", "key", "groove", "dynamics")


def _fail(message: str) -> int:
    print(f"error: {' '.join(message.split())}", file=sys.stderr)
    return 1


def harmony_lab(segments: list[tuple[float, float, str]]) -> str:
    """Chord segments as MIREX ``.lab`` text (times in seconds, six decimals)."""
    return "".join(f"{a:.6f}\t{b:.6f}\t{label}\n" for a, b, label in segments)


def derive(target: str, path: Path, use_annotations: bool = True) -> str:
    """What ``penta-targets TARGET FILE`` prints (``ValueError``/``OSError`` when the file cannot be read)."""
    from penta_core.harmony.annotations import annotations_beside
    from penta_core.targets.analysis import analyse_bytes

    data = path.read_bytes()
    if target == "groove":
        return groove_json(data)
    if target == "dynamics":
        return dynamics_json(data)
    annotations = annotations_beside(path) if use_annotations else None
    analysis = analyse_bytes(data, annotations)
    if target == "harmony":
        return harmony_lab([(c.start_s, c.end_s, c.label) for c in analysis.chords])
    if target == "melody":
        notes, melody = analysis.notes, analysis.melody
        onsets = notes.seconds(notes.start[melody.index]).tolist()
        offsets = notes.seconds(melody.end).tolist()
        rows = [[round(a, 6), round(b, 6), p, v] for a, b, p, v in zip(
            onsets, offsets, notes.pitch[melody.index].tolist(), notes.velocity[melody.index].tolist())]
        return json.dumps({"notes": rows}) + "\n"
    key = analysis.key
    if key is None:
        raise ValueError("no pitched notes: the key is undefined")
    return json.dumps({"tonic": key.tonic, "mode": key.mode, "confidence": round(key.confidence, 6)}) + "\n"


def groove_json(data: bytes) -> str:
    """What ``penta-targets groove`` prints for MIDI bytes."""
    from penta_core.groove.timing import analyse_groove
    from penta_core.midi.notes import read_notes

    g = analyse_groove(read_notes(data))
    rows = [[round(a, 6), round(s, 6), round(ms, 3), int(v), round(adj, 3), voice] for a, s, ms, v, adj, voice in zip(
        g.onset_s.tolist(), g.grid_s.tolist(), g.offset_ms.tolist(), g.velocity.tolist(),
        g.velocity_adjust.tolist(), g.voice)]
    return json.dumps({"tempo_bpm": round(g.tempo_bpm, 3), "grid": g.grid, "grid_phase_beats": g.phase_beats,
                       "swing_ratio": round(g.swing_ratio, 4), "notes": rows}) + "\n"


def dynamics_json(data: bytes) -> str:
    """What ``penta-targets dynamics`` prints for MIDI bytes (slopes in velocity steps per beat)."""
    from penta_core.core.params import resolve
    from penta_core.dynamics.roles import ROLES
    from penta_core.targets.dynamics import dynamics_of

    d = dynamics_of(data, resolve()["targets"]["dynamics"])
    rows = [[round(a, 6), int(v), round(lv, 3), ROLES[r]] for a, v, lv, r in zip(
        d.onset_s.tolist(), d.velocity.tolist(), d.level.tolist(), d.role.tolist())]
    phrases = [[round(p.start_s, 6), round(p.end_s, 6), round(p.slope, 4)] for p in d.phrases]
    return json.dumps({"expressive": d.expressive, "notes": rows, "phrases": phrases}) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="penta-targets", description="Print what a target derives from one MIDI file.",
        epilog="harmony: a MIREX .lab of chord segments; melody: JSON notes; key: JSON tonic, mode, confidence; "
               "groove: JSON grid, swing ratio and each note's offset from the grid; "
               "dynamics: JSON performed or not, each note's level and role, phrase slopes.")
    parser.add_argument("target", metavar="TARGET", help=f"one of {', '.join(TARGETS)}")
    parser.add_argument("file", metavar="FILE", help="a Standard MIDI File")
    parser.add_argument("--no-annotations", action="store_true",
                        help="estimate even when annotation files lie beside FILE")
    args = parser.parse_args(argv)
    if args.target not in TARGETS:
        return _fail(f"unknown target {args.target!r}; choose one of {', '.join(TARGETS)}")
    path = Path(args.file)
    if not path.is_file():
        return _fail(f"cannot read '{path}': no such file")
    try:
        text = derive(args.target, path, not args.no_annotations)
    except (OSError, UnicodeDecodeError, ValueError) as err:
        return _fail(f"cannot read '{path}': {err}")
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
