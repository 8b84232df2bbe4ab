"""The state behind the page: the built version's samples, the event log, and the actions people take.

One :class:`AnnotationSession` serves every browser of one server. Actions
are checked, stamped with the server's clock and appended to the log under a
lock; the log is re-read from where it was last read before each answer, so
two servers writing one log see each other's events.
"""
from __future__ import annotations

import copy
import json
import threading
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from penta_core.annotate.events import append_event, check_event, ensure_log, fold_events
from penta_core.annotate.vocabulary import Vocabulary
from penta_core.annotate_ui.queue import FEATURE_COLUMNS, apply_decision, build_row, order_rows
from penta_core.baseline.predictions import read_predictions
from penta_core.core.errors import InputError
from penta_core.core.io import read_json
from penta_core.core.layout import DatasetLayout
from penta_core.features.table import has_feature_table, load_feature_table
from penta_core.manifest.load import load_manifest
from penta_core.splits.lists import SPLITS


class ActionRejected(InputError):
    """An action the page sent cannot be recorded; the message says why."""


def now_utc() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _feature_values(layout: DatasetLayout) -> dict[str, dict[str, float]]:
    if not has_feature_table(layout):
        return {}
    ids, columns, X = load_feature_table(layout)
    if not all(c in columns for c in FEATURE_COLUMNS):
        return {}
    wanted = X[:, [columns.index(c) for c in FEATURE_COLUMNS]]
    return {sid: dict(zip(FEATURE_COLUMNS, (float(v) for v in row))) for sid, row in zip(ids, wanted)}


def _splits(layout: DatasetLayout) -> dict[str, str]:
    split_of = {}
    for name in SPLITS:
        path = layout.splits_dir / f"{name}.txt"
        if path.exists():
            split_of.update(dict.fromkeys(path.read_text().split(), name))
    return split_of


class AnnotationSession:
    """Samples, labels and the event log of one dataset version.

    Parameters
    ----------
    layout : the built dataset version (its manifest must exist).
    params : validated params (target model, vocabulary, event log path).
    annotator : the name written into events that do not carry one.
    """

    def __init__(self, layout: DatasetLayout, params: dict[str, Any], annotator: str):
        self.layout = layout
        self.params = params
        self.annotator = annotator
        self.events_path = ensure_log(params["annotate"]["events"])
        self.vocab = Vocabulary.load(params["dataset"]["target_model"], params["annotate"]["vocabulary"])
        self.labels = {name: (label.valence, label.arousal) for name, label in self.vocab.labels.items()}
        self.boot_id = uuid.uuid4().hex
        manifest = load_manifest(layout)
        self.samples = {s["id"]: s for s in manifest["samples"]}
        index = layout.index("annotated")
        notes = read_json(index)["annotations"] if index.exists() else {}
        predictions = read_predictions(layout)
        split_of = _splits(layout)
        features = _feature_values(layout)
        self._base = {sid: build_row(s, notes.get(sid, {}), split_of.get(sid, ""), predictions.get(sid),
                                     features.get(sid)) for sid, s in self.samples.items()}
        self._lock = threading.RLock()
        self._events: list[dict[str, Any]] = []
        self._by_sample: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._seen: set[str] = set()
        self._offset = 0
        self.torn_lines = 0
        self._refresh()

    # -- the log -------------------------------------------------------------------------------

    def _refresh(self) -> None:
        """Read the lines appended to the log since the last read (by this or another server)."""
        with open(self.events_path, "rb") as handle:
            size = handle.seek(0, 2)
            if size < self._offset:  # the log was replaced (a checkout): read it anew
                self._events.clear(), self._by_sample.clear(), self._seen.clear()
                self._offset = 0
            handle.seek(self._offset)
            chunk = handle.read()
        complete = chunk[: chunk.rfind(b"\n") + 1]
        for number, raw in enumerate(complete.split(b"\n")):
            if not raw.strip():
                continue
            try:
                event = check_event(json.loads(raw), f"{self.events_path}+{self._offset}:{number}")
            except ValueError:
                self.torn_lines += 1
                continue
            self._add(event)
        self._offset += len(complete)

    def _add(self, event: dict[str, Any]) -> None:
        self._events.append(event)
        self._by_sample[event["sample"]].append(event)
        self._seen.add(event["event"])

    def built_rows(self) -> list[dict[str, Any]]:
        """The rows as the built version has them, before events not yet built in (unordered copies)."""
        return copy.deepcopy(list(self._base.values()))

    @property
    def event_count(self) -> int:
        return len(self._events)

    def row(self, sample_id: str) -> dict[str, Any]:
        """The queue row of a sample with every event of the log applied."""
        decision = fold_events(self._by_sample.get(sample_id, [])).get(sample_id)
        return apply_decision(copy.deepcopy(self._base[sample_id]), decision, self.labels)

    def queue(self) -> list[dict[str, Any]]:
        """Every row, ordered by need."""
        with self._lock:
            self._refresh()
            return order_rows([self.row(sid) for sid in self.samples])

    def state(self) -> dict[str, Any]:
        """What the page loads: the labels, the ordered queue and the log's size."""
        rows = self.queue()
        return {
            "dataset": self.layout.name, "target_model": self.params["dataset"]["target_model"],
            "annotator": self.annotator, "boot_id": self.boot_id,
            "labels": [{"name": n, "valence": v, "arousal": a} for n, (v, a) in self.labels.items()],
            "samples": rows, "events": len(self._events), "events_path": str(self.events_path),
        }

    # -- actions -------------------------------------------------------------------------------

    def _check_action(self, action: dict[str, Any], pending: list[dict[str, Any]]) -> dict[str, Any]:
        """The event to append for ``action``; ``pending`` are the events of the same batch before it."""
        sample_id = action.get("sample")
        if sample_id not in self.samples:
            raise ActionRejected(f"unknown sample {sample_id!r}")
        kind = action.get("action")
        if kind in ("label", "confirm", "va") and not self._base[sample_id]["editable"]:
            raise ActionRejected(f"sample {sample_id} is {self.samples[sample_id]['origin']}: "
                                 "its label comes from its parent or its generation")
        if kind in ("label", "confirm") and action.get("new") not in self.labels:
            raise ActionRejected(f"label {action.get('new')!r} is not in the vocabulary")
        if kind == "undo":
            earlier = [*self._by_sample.get(sample_id, []), *(e for e in pending if e["sample"] == sample_id)]
            target = next((e for e in earlier if e["event"] == action.get("undoes")), None)
            if target is None:
                raise ActionRejected(f"event {action.get('undoes')!r} of sample {sample_id} is not in the log")
        event = {key: action[key] for key in ("event", "sample", "action", "old", "new", "undoes") if key in action}
        event["annotator"] = str(action.get("annotator") or self.annotator)[:100]
        event["time"] = now_utc()
        va = event.get("new")
        if event["action"] == "va" and isinstance(va, list) and all(isinstance(v, (int, float)) for v in va):
            event["new"] = [round(float(v), 3) for v in va]
        return check_event(event, "action")

    def record(self, actions: list[dict[str, Any]]) -> dict[str, Any]:
        """Check every action, then append them; an action whose event id is already in the log is not written again.

        Nothing is written when any action is refused (:class:`ActionRejected`).

        Returns
        -------
        dict : ``accepted`` and ``duplicates`` (event ids), ``rows`` (the updated rows of the samples touched).
        """
        with self._lock:
            self._refresh()
            events, duplicates = [], []
            for action in actions:
                if not isinstance(action, dict) or not isinstance(action.get("event"), str):
                    raise ActionRejected("every action needs an 'event' id")
                if action["event"] in self._seen or any(e["event"] == action["event"] for e in events):
                    duplicates.append(action["event"])
                    continue
                try:
                    events.append(self._check_action(action, events))
                except ValueError as err:
                    raise ActionRejected(str(err)) from None
            for event in events:
                append_event(self.events_path, event)
            self._refresh()  # reads these events back, with any another server appended meanwhile
            touched = {a["sample"] for a in actions if a.get("sample") in self.samples}
            rows = {sid: self.row(sid) for sid in touched}
        return {"accepted": [e["event"] for e in events], "duplicates": duplicates, "rows": rows,
                "events": len(self._events)}

    def features(self, sample_id: str) -> dict[str, Any]:
        """The manifest entry of a sample (what the page shows beside the player)."""
        sample = self.samples[sample_id]
        keep = ("id", "path", "shard", "member", "kind", "origin", "group", "source", "sources", "info", "parent",
                "transform", "generation", "features", "label_conflict")
        return {k: sample[k] for k in keep if k in sample}

