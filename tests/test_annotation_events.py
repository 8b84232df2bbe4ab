"""The annotation event log: append-only lines, torn lines survived, folded into labels by the annotate stage."""
from __future__ import annotations

import json
import multiprocessing
import time

import pytest
from helpers import write_midi

from penta_core.annotate.events import EventLogError, append_event, fold_events, read_events
from penta_core.annotate.labels import annotate, read_annotations
from penta_core.annotate.vocabulary import Vocabulary
from penta_core.core.io import read_json
from penta_core.sources.importer import import_sources


def event(n, sample="s1", action="label", new="happy", **extra):
    return {"event": f"e{n}", "sample": sample, "action": action, "new": new, "annotator": "ana",
            "time": f"2026-01-01T00:00:{n:02d}Z", **extra}


def test_appended_events_read_back_in_order(tmp_path):
    log = tmp_path / "events.jsonl"
    for n in range(3):
        append_event(log, event(n))
    assert [e["event"] for e in read_events(log).events] == ["e0", "e1", "e2"]
    assert log.read_text().count("\n") == 3


def test_a_line_torn_by_a_killed_writer_is_skipped_and_the_next_event_starts_a_fresh_line(tmp_path):
    log = tmp_path / "events.jsonl"
    append_event(log, event(1))
    with open(log, "ab") as handle:
        handle.write(b'{"event": "e2", "sam')  # what a writer killed mid-line leaves
    assert read_events(log).torn_lines == 1
    append_event(log, event(3))
    parsed = read_events(log)
    assert [e["event"] for e in parsed.events] == ["e1", "e3"] and parsed.torn_lines == 1


def test_latest_event_per_sample_wins():
    decisions = fold_events([event(1, new="happy"), event(2, new="sad"), event(3, sample="s2", new="calm")])
    assert decisions["s1"].label == "sad" and decisions["s2"].label == "calm"


def test_undo_takes_back_its_event_and_the_one_before_counts_again():
    decisions = fold_events([event(1, new="happy"), event(2, new="sad"),
                             event(3, action="undo", new=None, undoes="e2")])
    assert decisions["s1"].label == "happy"


def test_skips_decide_nothing():
    decisions = fold_events([event(1, action="skip", new=None)])
    assert decisions["s1"].label is None and decisions["s1"].events == 1


def test_valence_arousal_event_outside_the_square_is_refused(tmp_path):
    with pytest.raises(EventLogError, match="within \\[-1, 1\\]"):
        append_event(tmp_path / "events.jsonl", event(1, action="va", new=[0.2, 1.5]))
    assert not (tmp_path / "events.jsonl").exists()


def test_a_json_line_that_is_not_an_event_names_file_and_line(tmp_path):
    log = tmp_path / "events.jsonl"
    append_event(log, event(1))
    with open(log, "a") as handle:
        handle.write(json.dumps({"event": "e2", "sample": "s1"}) + "\n")
    with pytest.raises(EventLogError, match=r"events.jsonl:2: field 'action'"):
        read_events(log)


def _writer(path, who, count):
    for n in range(count):
        append_event(path, {"event": f"{who}-{n}", "sample": f"s{n % 7}", "action": "label", "new": "happy",
                            "annotator": who, "time": "2026-01-01T00:00:00Z"})


def test_two_processes_appending_at_once_lose_no_event(tmp_path):
    log = tmp_path / "events.jsonl"
    count = 300
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_writer, args=(log, who, count)) for who in ("ana", "ben")]
    start = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    elapsed = time.perf_counter() - start
    parsed = read_events(log)
    assert parsed.torn_lines == 0
    assert sorted(e["event"] for e in parsed.events) == sorted(f"{w}-{n}" for w in ("ana", "ben") for n in range(count))
    print(f"{2 * count / elapsed:.0f} events/s appended and fsynced by two processes")


@pytest.fixture
def imported(tmp_path, layout, params):
    src = tmp_path / "src"
    write_midi(src / "happy" / "a.mid")
    write_midi(src / "sad" / "b.mid", pitches=(50,))
    (src / "happy" / "c.mid").write_bytes(write_midi(src / "sad" / "c.mid", pitches=(40, 44)).read_bytes())
    import_sources(src, layout, params)
    return {s["source"]: s["id"] for s in read_json(layout.index("imported"))["samples"]}


def test_annotate_stage_applies_the_latest_label_and_keeps_the_folder_label(tmp_path, layout, imported):
    log = tmp_path / "events.jsonl"
    append_event(log, event(1, sample=imported["happy/a.mid"], new="sad"))
    append_event(log, event(2, sample=imported["happy/a.mid"], new="calm"))
    summary = annotate(layout, Vocabulary.load("emotionrecognizer"), log)
    record = read_annotations(layout)[imported['happy/a.mid']]
    assert (record["label"], record["folder_label"], record["label_source"]) == ("calm", "happy", "annotator")
    assert (record["valence"], record["arousal"], record["annotator"]) == (0.5, -0.7, "ana")
    assert summary["by_annotator"] == 1 and summary["per_label"] == {"calm": 1, "sad": 1}


def test_a_person_resolves_a_folder_conflict(tmp_path, layout, imported):
    log = tmp_path / "events.jsonl"
    conflicted = imported["happy/c.mid"]
    append_event(log, event(1, sample=conflicted, new="sad"))
    annotate(layout, Vocabulary.load("emotionrecognizer"), log)
    record = read_annotations(layout)[conflicted]
    assert record["label"] == "sad" and record["resolved_conflict"] == ["happy", "sad"] and "conflict" not in record


def test_valence_arousal_from_a_person_overrides_the_labels_coordinates(tmp_path, layout, imported):
    log = tmp_path / "events.jsonl"
    append_event(log, event(1, sample=imported["sad/b.mid"], action="va", new=[-0.2, 0.9]))
    annotate(layout, Vocabulary.load("emotionrecognizer"), log)
    record = read_annotations(layout)[imported['sad/b.mid']]
    assert (record["label"], record["valence"], record["arousal"], record["va_source"]) == ("sad", -0.2, 0.9,
                                                                                            "annotator")


def test_events_for_samples_of_other_versions_are_counted_not_applied(tmp_path, layout, imported):
    log = tmp_path / "events.jsonl"
    append_event(log, event(1, sample="0123456789abcdef", new="sad"))
    summary = annotate(layout, Vocabulary.load("emotionrecognizer"), log)
    assert summary["events_other_samples"] == 1 and summary["by_annotator"] == 0


def test_a_label_outside_the_vocabulary_fails_the_stage_naming_the_log(tmp_path, layout, imported):
    log = tmp_path / "events.jsonl"
    append_event(log, event(1, sample=imported["sad/b.mid"], new="jolly"))
    with pytest.raises(EventLogError, match=r"events.jsonl: event e1 labels sample .* 'jolly', which is not in"):
        annotate(layout, Vocabulary.load("emotionrecognizer"), log)


def test_same_log_same_annotation_bytes(tmp_path, layout, imported):
    log = tmp_path / "events.jsonl"
    append_event(log, event(1, sample=imported["happy/a.mid"], new="sad"))
    annotate(layout, Vocabulary.load("emotionrecognizer"), log)
    first = layout.index("annotated").read_bytes()
    annotate(layout, Vocabulary.load("emotionrecognizer"), log)
    assert layout.index("annotated").read_bytes() == first
