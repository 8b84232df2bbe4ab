"""The Dask executor: the same outputs as the local pool, failures charged to their item, a clear wrong address.

A scheduler and two workers run as separate processes on 127.0.0.1, started
here and stopped at the end of the module; the stages are pointed at them.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml
from helpers import REPO, dataset_files

distributed = pytest.importorskip("distributed")

import dask_items  # noqa: E402
import psutil  # noqa: E402

from penta_core import cli  # noqa: E402
from penta_core.core.cluster import CONNECT_TIMEOUT_S, check_scheduler  # noqa: E402
from penta_core.core.errors import ClusterError, ParamError  # noqa: E402
from penta_core.core.io import read_json  # noqa: E402
from penta_core.core.params import resolve  # noqa: E402
from penta_core.engine import dask_map as dask_map_module  # noqa: E402
from penta_core.engine.dask_map import KILLED_REASON, TASKS_PER_THREAD, connect, dask_map  # noqa: E402
from penta_core.engine.executor import parallel_map  # noqa: E402

TESTS = Path(__file__).parent
STEPS = ["--annotate", "--augment", "--synthesize", "--extract-features", "--families", "--targets"]
# A few of the examples: MIDI of two labels and one recording (audio features are where
# native thread pools showed: an MFCC's last bits depended on the BLAS thread count).
SOURCE_FILES = [*(f"happy/happy_0{n}.mid" for n in range(1, 4)), *(f"sad/sad_0{n}.mid" for n in range(1, 3)),
                *(f"calm/calm_0{n}.mid" for n in range(2, 4)),
                "calm/calm_audio_wav.wav"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(TESTS), env.get("PYTHONPATH", "")])
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["DASK_DISTRIBUTED__WORKER__DAEMON"] = "False"
    # A task that crashes two workers fails (the default, 3, costs four worker restarts per crash).
    env["DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES"] = "1"
    env["DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION"] = "1.0"
    return env


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def address(tmp_path_factory):
    """``tcp://127.0.0.1:PORT`` of a scheduler with two one-thread workers (each under a nanny)."""
    logs = tmp_path_factory.mktemp("dask_logs")
    address = f"tcp://127.0.0.1:{_free_port()}"
    dask = str(Path(sys.executable).parent / "dask")
    commands = {"scheduler": [dask, "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
                              "--no-dashboard", "--dashboard-address", "127.0.0.1:0"],
                **{f"worker{n}": [dask, "worker", address, "--nthreads", "1", "--host", "127.0.0.1",
                                  "--no-dashboard", "--dashboard-address", "127.0.0.1:0", "--name", f"w{n}"]
                   for n in range(2)}}  # every port on loopback: a worker's HTTP server binds 0.0.0.0 otherwise
    started, logs_open = [], []
    try:
        for name, command in commands.items():  # one at a time: those started are stopped if one fails
            logs_open.append((logs / f"{name}.log").open("w"))
            started.append(subprocess.Popen(command, env=_env(), start_new_session=True,
                                            stdout=subprocess.DEVNULL, stderr=logs_open[-1]))
        with distributed.Client(address, timeout="30s", set_as_default=False) as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for process in reversed(started):
            _stop(process)
        for log in logs_open:
            log.close()


@pytest.fixture
def client(address):
    """A client of the module's cluster, once both workers are up again (a test may have killed one)."""
    with distributed.Client(address, timeout="30s", set_as_default=False) as client:
        client.wait_for_workers(2, timeout=60)
        yield client


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("source")
    for rel in SOURCE_FILES:
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO / "datasets" / "examples" / rel, folder / rel)
    return folder


def _build(tmp_path: Path, source: Path, engine: dict) -> Path:
    """The steps from import to targets, run by ``penta-dataset`` in ``tmp_path`` with ``engine``."""
    params = {"dataset": {"name": "ds", "root": "datasets"},  # relative: config.json is the same in every folder
              "augment": {"multiplier": 1, "n_jobs": 2}, "synthesize": {"count": 3, "n_jobs": 2},
              "import": {"n_jobs": 2}, "features": {"n_jobs": 2}, "families": {"n_jobs": 2},
              "targets": {"n_jobs": 2}, "engine": engine}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    here = os.getcwd()
    os.chdir(tmp_path)
    try:
        assert cli.main(["--import-dir", str(source), *STEPS, "--params", "params.yaml"]) == 0
    finally:
        os.chdir(here)
    return tmp_path / "datasets" / "ds"


@pytest.fixture(scope="module")
def local_build(tmp_path_factory, source) -> dict[str, str]:
    return dataset_files(_build(tmp_path_factory.mktemp("local"), source, {"executor": "local"}))


# -- the stages on a cluster ----------------------------------------------------------
def test_stages_on_a_cluster_write_the_bytes_of_a_local_build(tmp_path, client, address, source, local_build):
    built = dataset_files(_build(tmp_path, source, {"executor": "dask", "scheduler": address, "chunk_size": 2}))
    assert built == local_build
    assert read_json(tmp_path / "datasets" / "ds" / "index" / "features.json")["summary"]["failed"] == 0
    assert "engine" not in read_json(tmp_path / "datasets" / "ds" / "config.json")["params"]


def test_a_worker_killed_mid_stage_loses_and_repeats_no_sample(tmp_path, client, address, source, local_build,
                                                              monkeypatch):
    real = dask_map_module.dask_map
    after_kill = []

    def killing(*args, **kwargs):
        for n, result in enumerate(real(*args, **kwargs)):
            if n == 0 and not after_kill:
                busy = sorted(client.run(os.getpid).values())
                os.kill(busy[0], signal.SIGKILL)
                after_kill.append(0)
            elif after_kill:
                after_kill.append(result[0])
            yield result

    monkeypatch.setattr(dask_map_module, "dask_map", killing)
    built = dataset_files(_build(tmp_path, source, {"executor": "dask", "scheduler": address, "chunk_size": 1}))
    assert len(after_kill) > 1, "the kill came after the last result: nothing was left to reschedule"
    assert read_json(tmp_path / "datasets" / "ds" / "quarantine.json")["count"] == 0
    assert read_json(tmp_path / "datasets" / "ds" / "index" / "features.json")["summary"]["failed"] == 0
    assert built == local_build


# -- failures charged to their item ---------------------------------------------------
def test_a_raise_a_segfault_and_a_hang_each_fail_their_item_and_the_rest_finish(client):
    started = time.monotonic()
    results = list(dask_map(dask_items.square_or_fail, range(10), client=client, timeout_s=3, chunk_size=2))
    indices = [index for index, _ in results]
    assert sorted(indices) == list(range(10))  # each once
    outcomes = dict(results)
    assert outcomes[3].reason == "ValueError: three is refused"
    assert outcomes[5].reason == KILLED_REASON
    assert outcomes[7].reason == "timed out after 3 s"
    assert {i: o.value for i, o in outcomes.items() if o.ok} == {i: i * i for i in range(10) if i not in (3, 5, 7)}
    assert time.monotonic() - started < 90
    client.wait_for_workers(2, timeout=60)  # the hung worker was restarted, not left holding its slot
    assert len(client.run(dask_map_module._running)) == 2


def test_items_are_read_a_bounded_number_of_tasks_ahead(client):
    drawn = []

    def items():
        for n in range(1000):
            drawn.append(n)
            yield n

    results = dask_map(dask_items.slow_square, items(), client=client, chunk_size=1)
    first = next(results)
    assert first[1].ok
    assert len(drawn) <= TASKS_PER_THREAD * 2 + 1
    results.close()


# -- a local cluster ----------------------------------------------------------------
def test_a_local_cluster_listens_on_loopback_with_non_daemon_one_thread_workers():
    before = {p.pid for p in psutil.Process().children(recursive=True)}  # the module's cluster, if started
    with connect("", 2) as client:
        assert client.scheduler.address.startswith("tcp://127.0.0.1:")
        assert client.nthreads() and set(client.nthreads().values()) == {1}
        assert len(client.nthreads()) == 2
        daemons = client.run(lambda: __import__("dask").config.get("distributed.worker.daemon"))
        assert set(daemons.values()) == {False}
        ours = {os.getpid(), *(p.pid for p in psutil.Process().children(recursive=True))} - before
        listening = [c.laddr for c in psutil.net_connections("tcp") if c.status == "LISTEN" and c.pid in ours]
        assert listening and {a.ip for a in listening} == {"127.0.0.1"}
        assert 8787 not in {a.port for a in listening}  # another cluster's dashboard port is left alone


def test_parallel_map_on_a_local_cluster_gives_what_the_local_pool_gives():
    items = list(range(-20, 20))
    local = dict(parallel_map(dask_items.square_or_refuse, items, n_jobs=2, engine={"executor": "local"}))
    on_dask = dict(parallel_map(dask_items.square_or_refuse, items, n_jobs=2,
                                engine={"executor": "dask", "workers": 2}))
    assert local == on_dask
    assert not on_dask[23].ok  # item 3 raised on both


# -- a wrong address ------------------------------------------------------------------
def test_a_wrong_scheduler_address_fails_in_one_line_at_once_and_writes_nothing(tmp_path, capsys):
    wrong = f"tcp://127.0.0.1:{_free_port()}"  # nothing listens there
    params = {"dataset": {"name": "ds", "root": str(tmp_path / "datasets")},
              "engine": {"executor": "dask", "scheduler": wrong}}
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(params))
    started = time.monotonic()
    status = cli.main([*STEPS, "--params", str(tmp_path / "p.yaml")])
    elapsed = time.monotonic() - started
    err = capsys.readouterr().err
    assert status == 1
    assert err.count("\n") == 1
    assert err.startswith(f"error: engine.scheduler: cannot reach the Dask scheduler at {wrong}")
    assert elapsed < CONNECT_TIMEOUT_S + 2
    assert not (tmp_path / "datasets").exists()


def test_an_address_where_something_else_listens_fails_within_the_connect_time_out():
    with socket.socket() as silent:  # accepts connections (as a proxy or a firewall may), never speaks
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        address = f"tcp://127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        with pytest.raises(ClusterError, match=f"no answer from a Dask scheduler at {address} within 0.5 s"):
            check_scheduler(address, timeout_s=0.5)
        assert time.monotonic() - started < 2


def test_a_server_that_speaks_another_protocol_is_no_scheduler():
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        address = f"tcp://127.0.0.1:{other.getsockname()[1]}"

        def banner():
            conn, _ = other.accept()
            conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")
            conn.close()

        thread = threading.Thread(target=banner)
        thread.start()
        with pytest.raises(ClusterError, match="is not a Dask scheduler"):
            check_scheduler(address, timeout_s=2)
        thread.join(timeout=5)


def test_a_running_scheduler_passes_the_check(address):
    check_scheduler(address)


def test_dask_map_refuses_a_wrong_address_before_starting_anything():
    with pytest.raises(ClusterError, match="cannot reach"):
        next(dask_map(dask_items.square, [1], scheduler=f"tcp://127.0.0.1:{_free_port()}"))


# -- params ---------------------------------------------------------------------------
@pytest.mark.parametrize(("engine", "key"), [
    ({"executor": "spark"}, "engine.executor"),
    ({"executor": "dask", "scheduler": "10.0.0.5:8786"}, "engine.scheduler"),
    ({"executor": "dask", "scheduler": "tcp://10.0.0.5"}, "engine.scheduler"),
    ({"executor": "dask", "scheduler": 8786}, "engine.scheduler"),
    ({"workers": -1}, "engine.workers"),
    ({"workers": True}, "engine.workers"),
    ({"chunk_size": "big"}, "engine.chunk_size"),
    ({"scheduler": "tcp://10.0.0.5:8786"}, "engine.scheduler"),  # an address with the local executor
    ({"threads": 2}, "engine.threads"),
])
def test_a_wrong_engine_param_fails_naming_its_key(engine, key):
    with pytest.raises(ParamError, match=f"'{key}'"):
        resolve({"engine": engine})


def test_engine_params_take_a_scheduler_address_and_default_to_local():
    assert resolve({})["engine"] == {"executor": "local", "scheduler": "", "workers": 0, "chunk_size": 0}
    engine = resolve({"engine": {"executor": "dask", "scheduler": "tcp://10.0.0.5:8786", "workers": 4}})["engine"]
    assert engine["scheduler"] == "tcp://10.0.0.5:8786"


def test_no_stage_depends_on_the_engine_params():
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    named = [(name, p) for name, stage in stages.items() for p in stage.get("params", [])
             if str(p).split(".")[0] == "engine"]
    assert named == []


def test_a_scheduler_without_workers_fails_in_one_line_instead_of_waiting(tmp_path, monkeypatch):
    port = _free_port()
    dask = str(Path(sys.executable).parent / "dask")
    with (tmp_path / "scheduler.log").open("w") as log:
        scheduler = subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                      "--no-dashboard", "--dashboard-address", "127.0.0.1:0"],
                                     env=_env(), start_new_session=True, stdout=subprocess.DEVNULL, stderr=log)
        try:
            address = f"tcp://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:  # until the scheduler listens
                try:
                    check_scheduler(address)
                    break
                except ClusterError:
                    assert time.monotonic() < deadline, "the scheduler did not start"
                    time.sleep(0.2)
            monkeypatch.setattr(dask_map_module, "NO_WORKERS_S", 2.0)
            raised: list[BaseException] = []

            def run() -> None:
                try:
                    list(dask_map(dask_items.square, [1, 2, 3], scheduler=address))
                except BaseException as err:  # handed to the test's thread
                    raised.append(err)

            waiting = threading.Thread(target=run, daemon=True)  # a regression hangs here, not the suite
            waiting.start()
            waiting.join(timeout=30)
            assert not waiting.is_alive(), "dask_map still waits for a worker after 30 s"
            assert len(raised) == 1 and isinstance(raised[0], ClusterError), raised
            assert re.search(r"has had no workers for \d+ s; start some there", str(raised[0]))
        finally:
            _stop(scheduler)
