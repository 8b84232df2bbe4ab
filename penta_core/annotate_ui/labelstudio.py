"""Label Studio JSON both ways: tasks with the baseline's predictions out, completed annotations in.

Export writes one task per sample (``data.audio``, ``data.sample_id``), the
baseline's prediction as a Label Studio prediction, and each label a person
decided as a completed annotation; :data:`LABEL_CONFIG` is the matching
labelling interface. Import reads a Label Studio export and turns each task's
latest completed annotation into annotation events: a ``choices`` result sets
the label, ``number`` results named ``valence`` and ``arousal`` set those.
Event ids derive from the annotation's id, so importing the same file twice
records nothing new.
"""
from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from penta_core.core.errors import InputError
from penta_core.core.io import read_json
from penta_core.store.access import sample_location

FROM_NAME, TO_NAME = "label", "audio"
MODEL_VERSION = "penta_core-baseline"
IMPORT_NAMESPACE = uuid.UUID("6f0f6a52-59b4-4c4e-9f57-0d3c1a3f5e11")


def label_config(labels: list[str]) -> str:
    """The Label Studio labelling interface matching the exported tasks."""
    choices = "\n".join(f'    <Choice value="{name}"/>' for name in labels)
    return (f'<View>\n  <Audio name="{TO_NAME}" value="$audio"/>\n'
            f'  <Choices name="{FROM_NAME}" toName="{TO_NAME}" choice="single" showInline="true">\n'
            f'{choices}\n  </Choices>\n'
            f'  <Number name="valence" toName="{TO_NAME}" min="-1" max="1" step="0.05"/>\n'
            f'  <Number name="arousal" toName="{TO_NAME}" min="-1" max="1" step="0.05"/>\n</View>\n')


def _choice(label: str) -> dict[str, Any]:
    return {"from_name": FROM_NAME, "to_name": TO_NAME, "type": "choices", "value": {"choices": [label]}}


def _number(name: str, value: float) -> dict[str, Any]:
    return {"from_name": name, "to_name": TO_NAME, "type": "number", "value": {"number": value}}


def export_tasks(session, audio_base: str | None = None) -> list[dict[str, Any]]:
    """Label Studio tasks for every editable sample, in queue order.

    Parameters
    ----------
    session : an :class:`~penta_core.annotate_ui.session.AnnotationSession`.
    audio_base : URL prefix of the audio (``http://127.0.0.1:8765/api/audio/``); ``None``: the sample's
        path relative to the dataset folder.
    """
    tasks = []
    for number, row in enumerate((r for r in session.queue() if r["editable"]), start=1):
        data = {"audio": f"{audio_base}{row['id']}" if audio_base else row["location"], "sample_id": row["id"],
                "dataset": session.layout.name, "kind": row["kind"], "split": row["split"],
                "label": row["label"], "label_source": row["label_source"]}
        task: dict[str, Any] = {"id": number, "data": data, "predictions": [], "annotations": []}
        if row["predicted"]:
            task["predictions"].append({"model_version": MODEL_VERSION, "score": row["confidence"],
                                        "result": [_choice(row["predicted"])]})
        if row["decided"]:
            result = [_choice(row["label"])] if row["label"] else []
            if row["valence"] is not None:
                result += [_number("valence", row["valence"]), _number("arousal", row["arousal"])]
            task["annotations"].append({"result": result, "completed_by": row["annotator"] or "",
                                        "was_cancelled": False})
        tasks.append(task)
    return tasks


def _latest_annotation(task: dict[str, Any]) -> dict[str, Any] | None:
    done = [a for a in task.get("annotations") or [] if isinstance(a, dict) and not a.get("was_cancelled")]
    done.sort(key=lambda a: str(a.get("updated_at") or a.get("created_at") or ""))
    return done[-1] if done else None


def _annotator(annotation: dict[str, Any], default: str) -> str:
    who = annotation.get("completed_by")
    if isinstance(who, dict):
        who = who.get("email") or who.get("id")
    return f"label-studio:{who}" if who not in (None, "") else default


def actions_from_export(tasks: Any, session, default_annotator: str, where: str = "Label Studio JSON"
                        ) -> tuple[list[dict[str, Any]], list[str]]:
    """Annotation actions from a Label Studio export, and a line per task that was left out.

    Raises
    ------
    InputError : ``tasks`` is not a list of tasks.
    """
    if not isinstance(tasks, list):
        raise InputError(f"{where}: expected a list of Label Studio tasks")
    by_path = {sample_location(s): sid for sid, s in session.samples.items()}
    actions, skipped = [], []
    for position, task in enumerate(tasks, start=1):
        data = task.get("data", {}) if isinstance(task, dict) else {}
        sample_id = data.get("sample_id") or by_path.get(str(data.get("audio", "")))
        annotation = _latest_annotation(task) if isinstance(task, dict) else None
        if sample_id not in session.samples:
            skipped.append(f"task {position}: no sample of this version ({data.get('sample_id') or data.get('audio')})")
            continue
        if session.samples[sample_id]["origin"] != "imported":
            skipped.append(f"task {position}: sample {sample_id} is {session.samples[sample_id]['origin']}; "
                           "only imported samples take labels")
            continue
        if annotation is None:
            continue
        stamp = annotation.get("updated_at") or annotation.get("created_at")
        key = f"{sample_id}:{annotation.get('id', position)}:{stamp}"
        base = {"sample": sample_id, "annotator": _annotator(annotation, default_annotator)}
        current = session.row(sample_id)
        numbers = {}
        for item in annotation.get("result") or []:
            value = item.get("value") or {}
            if item.get("type") == "choices" and value.get("choices"):
                label = value["choices"][0]
                action = "confirm" if label == current["label"] else "label"
                actions.append(base | {"event": str(uuid.uuid5(IMPORT_NAMESPACE, key + ":label")), "action": action,
                                       "old": current["label"], "new": label})
            elif item.get("type") == "number" and item.get("from_name") in ("valence", "arousal"):
                numbers[item["from_name"]] = float(value.get("number"))
        if len(numbers) == 2:
            actions.append(base | {"event": str(uuid.uuid5(IMPORT_NAMESPACE, key + ":va")), "action": "va",
                                   "old": [current["valence"], current["arousal"]],
                                   "new": [numbers["valence"], numbers["arousal"]]})
    return actions, skipped


def import_file(path: str | Path, session, default_annotator: str) -> dict[str, Any]:
    """Record the annotations of the Label Studio export at ``path``; return what was recorded and skipped.

    Raises
    ------
    InputError : the file is not JSON, or not a list of tasks, or holds an action the session refuses.
    """
    try:
        tasks = read_json(path)
    except ValueError as err:
        raise InputError(f"{path} is not a Label Studio JSON export: {err}") from None
    actions, skipped = actions_from_export(tasks, session, default_annotator, str(path))
    reply = session.record(actions)
    return {"recorded": len(reply["accepted"]), "already": len(reply["duplicates"]), "skipped": skipped}
