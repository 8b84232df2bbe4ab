"""The annotation page in a real browser: Debian's Chromium driven by Playwright, with the internet blocked.

Skipped, with the reason, when the ``playwright`` package or a Chromium binary is missing
(``.ci/run`` installs both: ``apt-get install chromium``, ``pip install -e '.[test]'``).
``PENTA_SCREENSHOTS=1`` also refreshes ``docs/annotate-ui.png`` for the README.
"""
from __future__ import annotations

import copy
import os
import shutil
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from annotate_ui_data import build_version
from helpers import REPO, run

from penta_core.annotate.events import read_events
from penta_core.annotate.stage import run as annotate_step
from penta_core.annotate_ui.assets import dvc_template
from penta_core.annotate_ui.media import RenderCache
from penta_core.annotate_ui.server import start_server
from penta_core.annotate_ui.session import AnnotationSession
from penta_core.core.io import read_json
from penta_core.core.layout import DatasetLayout
from penta_core.manifest.build import build_manifest

playwright_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
CHROMIUM = os.environ.get("PENTA_CHROMIUM", "/usr/bin/chromium")
if not Path(CHROMIUM).is_file():
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set PENTA_CHROMIUM)",
                allow_module_level=True)
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required"]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


@pytest.fixture(scope="session")
def browser():
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A page in a fresh profile whose requests beyond this machine are blocked and listed in ``page.blocked``."""
    context = browser.new_context(viewport={"width": 1200, "height": 720})
    blocked: list[str] = []

    def guard(route):
        url = urlsplit(route.request.url)
        if url.scheme in ("file", "data", "blob") or url.hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    tab = context.new_page()
    tab.blocked = blocked
    tab.errors = []
    tab.on("pageerror", lambda err: tab.errors.append(str(err)))
    yield tab
    context.close()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build_version(tmp_path_factory.mktemp("browser"))


@pytest.fixture
def version(built, tmp_path):
    """A private copy of the built version (the tests write events and rebuild labels)."""
    params, layout, ids = built
    params = copy.deepcopy(params)
    params["dataset"]["root"] = str(tmp_path / "datasets")
    params["annotate"]["events"] = str(tmp_path / "annotations" / "events.jsonl")
    shutil.copytree(layout.root, Path(params["dataset"]["root"]) / layout.name)
    return params, DatasetLayout.from_params(params), ids


@pytest.fixture
def served(version, tmp_path):
    params, layout, _ = version
    server, _ = start_server(AnnotationSession(layout, params, "tester"), RenderCache(tmp_path / "renders"), port=0)
    yield server
    server.shutdown()
    server.server_close()


def open_queue(page, url):
    start = time.perf_counter()
    page.goto(url)
    page.wait_for_function("document.querySelectorAll('#queue li').length > 0 && "
                           "document.getElementById('status').textContent === 'saved'")
    return time.perf_counter() - start


def test_page_shows_the_queue_in_order_of_need(page, served):
    seconds = open_queue(page, served.url)
    shown = page.eval_on_selector_all("#queue li", "items => items.map(li => li.dataset.id)")
    assert shown == [row["id"] for row in served.session.queue() if row["origin"] == "imported"]
    assert page.text_content("#reason") == served.session.queue()[0]["reason"]
    assert page.blocked == [] and page.errors == []
    print(f"page load to queue shown: {seconds * 1000:.0f} ms")


def test_space_plays_the_sample_and_its_time_advances(page, served):
    open_queue(page, served.url)
    page.wait_for_function("document.getElementById('player').readyState >= 3")
    page.keyboard.press(" ")
    page.wait_for_function("document.getElementById('player').currentTime > 0.3", timeout=10000)
    assert page.evaluate("document.getElementById('player').paused") is False


def test_keyboard_labels_survive_a_reload_and_the_annotate_stage_builds_them(page, served, version):
    params, layout, _ = version
    open_queue(page, served.url)
    order = page.eval_on_selector_all("#queue li", "items => items.map(li => li.dataset.id)")
    for key in ("4", "2", "5"):  # calm, angry, tender on the first three samples
        page.keyboard.press(key)
        page.keyboard.press("Enter")
    page.keyboard.press("u")  # takes back "tender"
    page.wait_for_function("document.getElementById('status').textContent === 'saved'")
    page.reload()
    page.wait_for_function("document.querySelectorAll('#queue li').length > 0")
    labels = dict(page.eval_on_selector_all("#queue li", "items => items.map(li => "
                                            "[li.dataset.id, li.querySelector('.lab').textContent])"))
    assert (labels[order[0]], labels[order[1]]) == ("calm", "angry")
    assert labels[order[2]] == read_json(layout.manifest)["samples"][
        [s["id"] for s in read_json(layout.manifest)["samples"]].index(order[2])]["label"]
    events = read_events(params["annotate"]["events"]).events
    assert [(e["action"], e.get("new")) for e in events] == [("label", "calm"), ("label", "angry"),
                                                             ("label", "tender"), ("undo", None)]
    assert events[3]["undoes"] == events[2]["event"] and {e["annotator"] for e in events} == {"tester"}
    annotate_step(params, layout)
    build_manifest(layout, params)
    built_labels = {s["id"]: s["label"] for s in read_json(layout.manifest)["samples"]}
    assert (built_labels[order[0]], built_labels[order[1]]) == ("calm", "angry")
    assert built_labels[order[2]] != "tender"


def test_page_keeps_actions_while_the_server_is_down_and_sends_them_after(page, version, tmp_path):
    params, layout, _ = version
    first, _ = start_server(AnnotationSession(layout, params, "tester"), RenderCache(tmp_path / "r"), port=0)
    port = first.server_address[1]
    open_queue(page, first.url)
    first.shutdown()
    first.server_close()
    page.keyboard.press("3")
    page.keyboard.press("Enter")
    page.wait_for_function("document.getElementById('status').textContent.startsWith('offline')")
    second, _ = start_server(AnnotationSession(layout, params, "tester"), RenderCache(tmp_path / "r"), port=port)
    try:
        page.wait_for_function("document.getElementById('status').textContent === 'saved'", timeout=15000)
    finally:
        second.shutdown()
        second.server_close()
    assert [e["new"] for e in read_events(params["annotate"]["events"]).events] == ["sad"]


def test_overview_draws_every_chart_with_the_internet_blocked(page, served):
    page.goto(served.url + "overview")
    page.wait_for_selector("body[data-ready='1']", timeout=20000)
    drawn = dict(page.eval_on_selector_all(
        ".chart", "boxes => boxes.map(b => [b.id, b.querySelectorAll('svg .mark-rect path').length])"))
    assert set(drawn) == {f"chart-{name}" for name in ("labels", "keys", "tempo_bpm", "duration_s", "families",
                                                      "confusion", "diff")}
    assert all(drawn[name] > 0 for name in drawn if name != "chart-diff"), drawn  # no earlier revision here
    assert page.blocked == [] and page.errors == []


def test_dvc_plots_show_draws_with_the_internet_blocked(page, tmp_path):
    repo = tmp_path / "plots"
    repo.mkdir()
    run(["git", "init", "-q"], repo)
    run(["dvc", "init", "-q"], repo)
    (repo / ".dvc" / "plots").mkdir()
    shutil.copy(REPO / ".dvc" / "config", repo / ".dvc" / "config")
    (repo / ".dvc" / "plots" / "offline.html").write_text(dvc_template(), encoding="utf-8")
    (repo / "counts.csv").write_text("label,count\nhappy,3\nsad,5\ncalm,2\n")
    (repo / "dvc.yaml").write_text("plots:\n  - counts.csv:\n      template: bar_horizontal\n      x: count\n"
                                   "      y: label\n")
    run(["dvc", "plots", "show", "-o", "out"], repo)
    html = (repo / "out" / "index.html").read_text()
    assert "cdn.jsdelivr" not in html
    page.goto((repo / "out" / "index.html").as_uri())
    page.wait_for_selector("canvas, svg", timeout=20000)
    painted = page.evaluate("""() => [...document.querySelectorAll('canvas')].some(c => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        for (let i = 3; i < d.length; i += 4) if (d[i] > 0) return true;
        return false;
    }) || document.querySelectorAll('svg path, svg rect').length > 0""")
    assert painted and page.blocked == [] and page.errors == []


def test_screenshot_of_the_page_for_the_readme(page, served, version, tmp_path):
    _, _, ids = version
    open_queue(page, served.url + f"#{ids['happy/b.mid']}")
    page.wait_for_function("document.getElementById('title').textContent.endsWith('b.mid')")
    page.keyboard.press("3")
    page.wait_for_timeout(800)  # the piano roll arrives with the sample's detail
    shot = tmp_path / "annotate-ui.png"
    page.screenshot(path=str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("PENTA_SCREENSHOTS") == "1":
        shutil.copy(shot, REPO / "docs" / "annotate-ui.png")
    assert page.blocked == []
