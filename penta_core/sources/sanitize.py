"""The sanitize report: per source, what the import kept, collapsed and quarantined (counts per reason),
and the audio whose condition passes a limit (clipping, DC offset, long digital silence at either end).

Reported, never acted on: a clipped or offset recording is still imported as it is (the limits are
``import.max_clipping_share``, ``import.max_dc_offset`` and ``import.max_edge_silence_s``). The
conditions describe the source; what the import's normalisation did to the copy is counted beside
them: ``trimmed`` (``import.edge_silence: trim`` cut silence at either end), ``downmixed``
(``import.channels: mono``) and ``resampled`` (``import.sample_rate``).
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Any

# What the normalisation did (a sample's ``normalised`` entry) → the count it adds to.
NORMALISED_COUNTS = (("trimmed_s", "trimmed"), ("channels", "downmixed"), ("sample_rate", "resampled"))
CONDITION_CHECKS = (
    ("clipping", "clipped_share", "max_clipping_share"),
    ("dc_offset", "dc_offset", "max_dc_offset"),
    ("lead_silence", "lead_silence_s", "max_edge_silence_s"),
    ("tail_silence", "tail_silence_s", "max_edge_silence_s"),
)


def reason_kind(reason: str) -> str:
    """A quarantine reason without its particulars: ``file is 300.1 MB, above ...`` → ``file is N MB``."""
    head = re.split(r"[:(;,]", reason, maxsplit=1)[0].strip()
    return re.sub(r"\d+(?:\.\d+)?", "N", head) or "rejected"


def sanitize_report(samples: list[dict[str, Any]], quarantined: list[dict[str, str]],
                    conditions: dict[str, dict[str, float]], opts: dict[str, Any],
                    by_folder: bool, whole: str) -> dict[str, Any]:
    """Counts per source: files, imported, duplicates, quarantined per reason, audio past each limit.

    Parameters
    ----------
    samples, quarantined : the import's outcome (``index/imported.json``, ``quarantine.json``).
    conditions : audio source path → its condition (:data:`penta_core.sources.checks.CONDITION`).
    opts : the ``import`` params (the limits).
    by_folder : each top folder is a source (the fetched ``sources/``); else everything is ``whole``.
    whole : the name of the one source when ``by_folder`` is false.
    """
    def source_of(path: str) -> str:
        return path.split("/", 1)[0] if by_folder and "/" in path else whole

    report: dict[str, dict[str, Any]] = {}

    def entry(name: str) -> dict[str, Any]:
        return report.setdefault(name, {"files": 0, "imported": 0, "duplicates": 0, "quarantined": Counter(),
                                        "audio_checked": 0, **{kind: [] for kind, _, _ in CONDITION_CHECKS},
                                        **{count: 0 for _, count in NORMALISED_COUNTS}})

    for sample in samples:
        first = entry(source_of(sample["source"]))
        first["imported"] += 1
        for path in sample["sources"]:
            entry(source_of(path))["files"] += 1
        first["duplicates"] += len(sample["sources"]) - 1
        for step, count in NORMALISED_COUNTS:
            first[count] += step in (sample.get("normalised") or {})
    for item in quarantined:
        e = entry(source_of(item["path"]))
        e["files"] += 1
        e["quarantined"][reason_kind(item["reason"])] += 1
    for path, condition in sorted(conditions.items()):
        e = entry(source_of(path))
        e["audio_checked"] += 1
        for kind, measure, limit in CONDITION_CHECKS:
            if condition[measure] > opts[limit]:
                e[kind].append(path)
    for e in report.values():
        e["quarantined"] = dict(sorted(e["quarantined"].items()))
    limits = {limit: opts[limit] for _, _, limit in CONDITION_CHECKS}
    return {"limits": dict(sorted(limits.items())), "sources": dict(sorted(report.items()))}


def report_lines(report: dict[str, Any]) -> list[str]:
    """One line per source for the stage to print."""
    lines = []
    for name, e in report["sources"].items():
        flags = ", ".join(f"{len(e[kind])} {kind.replace('_', ' ')}" for kind, _, _ in CONDITION_CHECKS if e[kind])
        quarantined = ", ".join(f"{n} {reason}" for reason, n in e["quarantined"].items())
        changed = ", ".join(f"{e[count]} {count}" for _, count in NORMALISED_COUNTS if e[count])
        lines.append(f"  source {name}: {e['files']} files, {e['imported']} imported, {e['duplicates']} duplicates"
                     + (f"; quarantined: {quarantined}" if quarantined else "")
                     + (f"; audio past a limit: {flags}" if flags else "")
                     + (f"; normalised: {changed}" if changed else ""))
    return lines
