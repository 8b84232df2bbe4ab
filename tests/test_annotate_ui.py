"""The annotation page's server: queue order, recorded actions, audio, Label Studio, restarts, shipped assets."""
from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from annotate_ui_data import build_version
from helpers import REPO

from penta_core.annotate.events import read_events
from penta_core.annotate_ui.assets import DVC_TEMPLATE, dvc_template, static_dir
from penta_core.annotate_ui.labelstudio import actions_from_export, export_tasks, import_file
from penta_core.annotate_ui.media import RenderCache
from penta_core.annotate_ui.queue import order_rows
from penta_core.annotate_ui.server import start_server
from penta_core.annotate_ui.session import ActionRejected, AnnotationSession


@pytest.fixture(scope="module")
def version(tmp_path_factory):
    return build_version(tmp_path_factory.mktemp("ui"))


@pytest.fixture
def session(version, tmp_path):
    params, layout, _ = version
    params = copy.deepcopy(params)
    params["annotate"]["events"] = str(tmp_path / "events.jsonl")
    return AnnotationSession(layout, params, "tester")


@pytest.fixture
def served(session, tmp_path):
    server, _ = start_server(session, RenderCache(tmp_path / "renders"), port=0)
    yield server
    server.shutdown()
    server.server_close()


def get(url, headers=None):
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=30) as response:
        return response.status, dict(response.headers), response.read()


def post(url, body):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_queue_puts_conflicts_then_unlabelled_then_disagreements_then_least_confident_first(session, version):
    _, _, ids = version
    order = [row["id"] for row in session.queue()]
    expected = ["happy/f.mid", "inbox/e.mid", "happy/b.mid", "sad/c.mid", "calm/tone.wav", "sad/d.mid", "happy/a.mid"]
    assert order == [ids[name] for name in expected]


def test_family_with_mixed_labels_comes_before_the_agreeing_rest():
    def row(sid, label, family, confidence):
        return {"id": sid, "label": label, "family": family, "conflict": [], "decided": False, "annotator": None,
                "predicted": label, "confidence": confidence}
    rows = [row("a", "happy", "f1", 0.1), row("b", "sad", "f2", 0.9), row("c", "happy", "f2", 0.95)]
    assert [r["id"] for r in order_rows(rows)] == ["b", "c", "a"]
    assert rows[1]["reason"] == "family has mixed labels"


def test_a_decided_sample_moves_to_the_end_of_the_queue(session, version):
    _, _, ids = version
    session.record([{"event": "x1", "sample": ids["happy/f.mid"], "action": "label", "new": "sad"}])
    queue = session.queue()
    assert queue[-1]["id"] == ids["happy/f.mid"] and queue[-1]["label"] == "sad"
    assert queue[-1]["reason"] == "decided by tester" and queue[-1]["conflict"] == []


def test_posted_action_becomes_one_line_of_the_log_stamped_by_the_server(served, session, version):
    _, _, ids = version
    status, reply = post(served.url + "api/events", {"events": [
        {"event": "p1", "sample": ids["inbox/e.mid"], "action": "label", "new": "calm", "old": None,
         "annotator": "ana"}]})
    assert status == 200 and reply["accepted"] == ["p1"]
    assert reply["rows"][ids["inbox/e.mid"]]["label"] == "calm"
    (line,) = Path(session.events_path).read_text().splitlines()
    written = json.loads(line)
    assert (written["annotator"], written["new"], written["old"]) == ("ana", "calm", None)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", written["time"])


def test_an_action_sent_twice_is_written_once(served, session, version):
    _, _, ids = version
    action = {"event": "twice", "sample": ids["sad/c.mid"], "action": "confirm", "new": "sad"}
    post(served.url + "api/events", {"events": [action]})
    status, reply = post(served.url + "api/events", {"events": [action]})
    assert status == 200 and reply["duplicates"] == ["twice"] and len(read_events(session.events_path).events) == 1


@pytest.mark.parametrize("action, message", [
    ({"action": "label", "new": "jolly"}, "not in the vocabulary"),
    ({"action": "undo", "undoes": "nothing"}, "is not in the log"),
])
def test_an_impossible_action_is_refused_with_its_reason(served, version, action, message):
    _, _, ids = version
    status, reply = post(served.url + "api/events", {"events": [{"event": "bad", "sample": ids["sad/c.mid"]} | action]})
    assert status == 400 and message in reply["error"]


def test_a_batch_sent_after_an_outage_may_undo_its_own_earlier_action(session, version):
    _, _, ids = version
    sample = ids["sad/d.mid"]
    reply = session.record([{"event": "o1", "sample": sample, "action": "label", "new": "calm"},
                            {"event": "o2", "sample": sample, "action": "undo", "undoes": "o1"}])
    assert reply["accepted"] == ["o1", "o2"] and session.row(sample)["label"] == "sad"


def test_a_batch_with_one_refused_action_writes_nothing(session, version):
    _, _, ids = version
    with pytest.raises(ActionRejected, match="jolly"):
        session.record([{"event": "b1", "sample": ids["sad/d.mid"], "action": "label", "new": "calm"},
                        {"event": "b2", "sample": ids["sad/c.mid"], "action": "label", "new": "jolly"}])
    assert read_events(session.events_path).events == []


def test_derived_samples_cannot_be_labelled_here(session):
    session.samples["fake_aug001"] = {"id": "fake_aug001", "origin": "augmented"}
    session._base["fake_aug001"] = {"editable": False}
    with pytest.raises(ActionRejected, match="augmented"):
        session.record([{"event": "d1", "sample": "fake_aug001", "action": "label", "new": "sad"}])


def test_midi_plays_as_a_rendered_wav_with_byte_ranges_and_is_rendered_once(served, version):
    _, _, ids = version
    url = served.url + f"api/audio/{ids['happy/a.mid']}"
    status, headers, body = get(url)
    assert status == 200 and headers["Content-Type"] == "audio/wav" and body[:4] == b"RIFF" and body[8:12] == b"WAVE"
    status, headers, part = get(url, {"Range": "bytes=100-199"})
    assert status == 206 and part == body[100:200] and headers["Content-Range"] == f"bytes 100-199/{len(body)}"
    assert served.renders.stats["renders"] == 1 and served.renders.stats["memory_hits"] == 1


def test_render_cache_survives_a_restart_on_disk(tmp_path, version):
    _, layout, _ = version
    data = (layout.root / "raw/midi/happy/a.mid").read_bytes()
    first = RenderCache(tmp_path / "r")
    wav = first.wav(data)
    second = RenderCache(tmp_path / "r")
    assert second.wav(data) == wav and second.stats["disk_hits"] == 1 and second.stats["renders"] == 0


def test_audio_samples_are_served_as_they_are(served, version):
    _, layout, ids = version
    _, headers, body = get(served.url + f"api/audio/{ids['calm/tone.wav']}")
    assert headers["Content-Type"] == "audio/wav" and body == (layout.root / "raw/audio/calm/tone.wav").read_bytes()


def test_sample_detail_has_the_piano_roll_notes(served, version):
    _, _, ids = version
    _, _, body = get(served.url + f"api/sample/{ids['sad/c.mid']}")
    roll = json.loads(body)["roll"]
    assert [n[2] for n in roll["notes"]] == [57, 60, 64] and roll["duration_s"] == pytest.approx(2.4, abs=0.01)


def test_static_files_cannot_be_read_outside_the_static_folder(served):
    with pytest.raises(urllib.error.HTTPError) as err:
        get(served.url + "static/../session.py")
    assert err.value.code == 404


def test_label_studio_export_holds_predictions_and_completed_annotations(session, version):
    _, _, ids = version
    session.record([{"event": "l1", "sample": ids["happy/b.mid"], "action": "label", "new": "sad"}])
    tasks = {t["data"]["sample_id"]: t for t in export_tasks(session)}
    b = tasks[ids["happy/b.mid"]]
    assert b["predictions"][0]["result"][0]["value"]["choices"] == ["sad"] and b["predictions"][0]["score"] == 0.8
    assert b["annotations"][0]["result"][0]["value"]["choices"] == ["sad"]
    assert tasks[ids["happy/a.mid"]]["annotations"] == []


def test_label_studio_annotations_import_as_events_once(session, version, tmp_path):
    _, _, ids = version
    export = [{"id": 7, "data": {"sample_id": ids["sad/d.mid"]}, "annotations": [
        {"id": 1, "created_at": "2026-01-01T10:00:00Z", "completed_by": {"email": "li@lab"},
         "result": [{"type": "choices", "from_name": "label", "value": {"choices": ["calm"]}},
                    {"type": "number", "from_name": "valence", "value": {"number": 0.3}},
                    {"type": "number", "from_name": "arousal", "value": {"number": -0.4}}]},
        {"id": 2, "created_at": "2026-01-02T10:00:00Z", "was_cancelled": True, "result": []}]},
        {"id": 8, "data": {"sample_id": "not-here"}, "annotations": []}]
    path = tmp_path / "ls.json"
    path.write_text(json.dumps(export))
    first = import_file(path, session, "tester")
    again = import_file(path, session, "tester")
    row = session.row(ids["sad/d.mid"])
    assert first["recorded"] == 2 and again == {"recorded": 0, "already": 2, "skipped": first["skipped"]}
    assert (row["label"], row["valence"], row["arousal"]) == ("calm", 0.3, -0.4)
    assert row["annotator"] == "label-studio:li@lab"
    assert first["skipped"] == ["task 2: no sample of this version (not-here)"]


def test_exported_tasks_import_back_unchanged(session, version):
    _, _, ids = version
    session.record([{"event": "l2", "sample": ids["sad/c.mid"], "action": "label", "new": "calm"}])
    actions, skipped = actions_from_export(export_tasks(session), session, "tester")
    assert skipped == [] and all(a["action"] in ("confirm", "va") for a in actions)


def test_a_new_server_on_the_same_log_sees_every_event(session, version):
    _, layout, ids = version
    session.record([{"event": "r1", "sample": ids["sad/c.mid"], "action": "label", "new": "tender"}])
    restarted = AnnotationSession(layout, session.params, "tester")
    assert restarted.row(ids["sad/c.mid"])["label"] == "tender" and restarted.boot_id != session.boot_id


def test_two_servers_on_one_log_see_each_others_events(session, version):
    _, layout, ids = version
    other = AnnotationSession(layout, session.params, "other")
    session.record([{"event": "s1", "sample": ids["sad/c.mid"], "action": "label", "new": "tender"}])
    other.record([{"event": "s2", "sample": ids["sad/d.mid"], "action": "label", "new": "calm"}])
    assert session.queue() and session.row(ids["sad/d.mid"])["label"] == "calm"
    assert other.row(ids["sad/c.mid"])["label"] == "tender"


def test_killed_server_keeps_every_acknowledged_event(version, tmp_path):
    params, _, ids = version
    params = copy.deepcopy(params)
    params["annotate"]["events"] = str(tmp_path / "events.jsonl")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    proc = subprocess.Popen([sys.executable, "-m", "penta_core.cli", "--annotate-ui", "--port", "0",
                             "--render-cache", str(tmp_path / "r")], cwd=tmp_path, stdout=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=str(REPO)))
    try:
        url = re.search(r"(http://127\.0\.0\.1:\d+/)", proc.stdout.readline()).group(1)
        acknowledged = []
        for n in range(40):
            _, reply = post(url + "api/events", {"events": [
                {"event": f"k{n}", "sample": ids["sad/c.mid"], "action": "label", "new": ("calm", "sad")[n % 2]}]})
            acknowledged += reply["accepted"]
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    assert [e["event"] for e in read_events(tmp_path / "events.jsonl").events] == acknowledged
    assert acknowledged == [f"k{n}" for n in range(40)]


def test_vendored_scripts_match_their_recorded_checksums():
    vendor = static_dir() / "vendor"
    table = (vendor / "README.md").read_text()
    for name, digest in re.findall(r"\| `([\w.-]+\.js)` \|[^|]+\|[^|]+\| ([0-9a-f]{64}) \|", table):
        assert hashlib.sha256((vendor / name).read_bytes()).hexdigest() == digest
    assert len(re.findall(r"[0-9a-f]{64}", table)) == 3
    assert all((vendor / f"LICENSE-{n}.txt").is_file() for n in ("vega", "vega-lite", "vega-embed"))


def test_committed_dvc_template_is_the_one_built_from_the_vendored_scripts():
    assert (REPO / DVC_TEMPLATE).read_text(encoding="utf-8") == dvc_template()
    assert "plots/offline.html" in (REPO / ".dvc" / "config").read_text()


def test_dvc_template_loads_nothing_from_the_network():
    template = dvc_template()
    assert "{plot_divs}" in template and "{scripts}" not in template
    assert not re.search(r"<script[^>]*\bsrc=", template)


def test_page_assets_load_nothing_from_the_network():
    for name in ("index.html", "overview.html", "app.js", "overview.js", "app.css"):
        assert not re.search(r"(src|href)=\"https?:|fetch\(\"https?:|url\(https?:", (static_dir() / name).read_text())


def test_cli_refuses_the_page_together_with_pipeline_steps(capsys):
    from penta_core.cli import main

    assert main(["--annotate-ui", "--annotate"]) == 1
    assert "run on their own" in capsys.readouterr().err
