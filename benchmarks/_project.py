"""Throwaway copies of this project for pipeline benchmarks (a benchmark helper, not a benchmark).

``Project.create(folder, clips, params)`` copies the pipeline (``dvc.yaml``,
``params.yaml``, ``stages/``, ``penta_core/``, the annotation log and the DVC
config) into ``folder``, hard-links the corpus ``clips`` to
``folder/sources`` (git-ignored; a DVC dependency of the import stage, as a
user's own music folder would be), points ``dataset.source_dir`` at it,
applies the parameter overrides and makes the first git commit. Then:

* ``repro()`` runs ``dvc repro`` and returns a :class:`Run`: wall seconds,
  seconds per stage (from its ``Running stage`` line to the next stage's, so
  a stage's time includes DVC hashing and caching its outputs and checking
  the next stage's dependencies), seconds of each stage's own
  ``python stages/X.py`` process (seen in ``/proc``, to 0.1 s), the peak RSS
  of the largest process (``getrusage(RUSAGE_CHILDREN)`` in a wrapper, exact),
  the peak summed RSS of the whole process tree (sampled every 0.1 s), the
  CPU seconds of the whole run (the same wrapper, exact) and, in a project
  created with ``cpu=True``, of each stage's script with its workers;
* ``dataset_files()`` counts the files under the dataset folder and
  ``dvc_objects()`` the objects in ``.dvc/cache/files/md5``, whatever the
  storage layout is (nothing here reads a per-sample file);
* ``run_stage(name)`` times a stage's script alone, outside DVC.

Child processes import the ``penta_core`` of this checkout (``PYTHONPATH``),
whatever is installed in the environment.
"""
from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
COPIED = ("dvc.yaml", "params.yaml", "stages", "penta_core", "annotations", ".dvc/config", ".dvc/plots",
          ".dvcignore", ".gitignore")
_WRAPPER = ("import resource, subprocess, sys\n"
            "code = subprocess.run(sys.argv[2:]).returncode\n"
            "usage = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
            "with open(sys.argv[1], 'w') as out:\n"
            "    out.write(f'{usage.ru_maxrss} {usage.ru_utime + usage.ru_stime}')\n"
            "sys.exit(code)\n")
# With ``cpu=True`` each stage's command runs under this (``.bench/cpu.py STAGE CMD...``): it appends the
# CPU seconds of the stage script and every process it waited for (its workers) to ``.bench/cpu-STAGE.txt``.
_CPU_WRAPPER = ("import os, subprocess, sys\n"
                "code = subprocess.run(sys.argv[2:]).returncode\n"
                "times = os.times()\n"
                "with open(f'.bench/cpu-{sys.argv[1]}.txt', 'a') as out:\n"
                "    out.write(f'{times.children_user + times.children_system}\\n')\n"
                "sys.exit(code)\n")
_RUNNING = re.compile(r"^Running stage '([^']+)'")
_SKIPPED = re.compile(r"^Stage '([^']+)' didn't change")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def child_env(code: Path = REPO) -> dict[str, str]:
    """The environment of every child: ``code``'s penta_core (this checkout's), this interpreter first on PATH."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(code), env.get("PYTHONPATH", "")) if p)
    env["PYTHONUNBUFFERED"] = "1"  # DVC's lines and the stages' arrive when written, so the timestamps hold
    env["DVC_NO_ANALYTICS"] = "1"
    env.setdefault("NUMBA_CACHE_DIR", str(REPO / ".numba_cache"))
    return env


def run(cmd: list[str], cwd: Path, check: bool = True, code: Path = REPO) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, cwd=cwd, env=child_env(code), capture_output=True, text=True)
    if check and result.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed in {cwd} ({result.returncode}):\n"
                         f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` applied key by key (nested dicts merged)."""
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def bench_params(multiplier: int = 0, synth: int | None = 0, n_jobs: int | None = None,
                 **stage_jobs: int) -> dict[str, Any]:
    """Parameter overrides: augmentation multiplier, synthetic count, worker counts.

    ``synth=None`` keeps ``params.yaml``'s count; ``n_jobs`` sets every
    stage's workers; ``features=1`` and the like set one stage's.
    """
    params: dict[str, Any] = {"augment": {"multiplier": multiplier}}
    if synth is not None:
        params["synthesize"] = {"count": synth}
    for stage in ("import", "features", "augment", "synthesize", "families"):
        jobs = stage_jobs.get(stage, n_jobs)
        if jobs is not None:
            params.setdefault(stage, {})["n_jobs"] = jobs
    return params


@dataclass
class Run:
    """One ``dvc repro``."""

    seconds: float
    stages: dict[str, float]  # stage -> wall seconds, DVC's work on its outputs included
    scripts: dict[str, float]  # stage -> seconds its own process was seen running
    skipped: list[str]
    peak_rss_mb: float  # the largest single process
    peak_tree_mb: float  # every process of the run together, sampled
    output: str = field(repr=False)
    stage_rss_mb: dict[str, float] = field(default_factory=dict)  # stage -> peak RSS of its script's process
    cpu: float = 0.0  # CPU seconds of the whole run: DVC and every stage with its workers
    stage_cpu: dict[str, float] = field(default_factory=dict)  # stage -> CPU seconds of its script and workers

    def dvc_share(self, stage: str) -> float:
        """Seconds of a stage that were DVC's, not the stage script's."""
        return max(0.0, self.stages.get(stage, 0.0) - self.scripts.get(stage, 0.0))


class _TreeWatcher(threading.Thread):
    """Samples the process tree under ``pid``: summed RSS, and when each stage script was alive."""

    def __init__(self, pid: int, scripts: dict[str, str], interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.scripts = scripts  # script path (stages/x.py) -> stage name
        self.peak_bytes = 0
        self.seen: dict[str, list[float]] = {}
        self.stage_bytes: dict[str, int] = {}  # stage -> the largest RSS its script's process was seen with
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self._sample()
            self.done.wait(self.interval)

    def _sample(self) -> None:
        children: dict[int, list[int]] = {}
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as f:
                    stat = f.read()
            except OSError:
                continue
            ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
        total, stack, now = 0, [self.pid], time.perf_counter()
        while stack:
            pid = stack.pop()
            stack.extend(children.get(pid, ()))
            try:
                with open(f"/proc/{pid}/statm", "rb") as f:
                    rss = int(f.read().split()[1]) * _PAGE
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            total += rss
            for arg in argv[1:3]:
                stage = self.scripts.get(arg.decode(errors="replace"))
                if stage:
                    span = self.seen.setdefault(stage, [now, now])
                    span[1] = now
                    self.stage_bytes[stage] = max(self.stage_bytes.get(stage, 0), rss)
        self.peak_bytes = max(self.peak_bytes, total)


class Project:
    """A git + DVC copy of the pipeline whose import stage reads ``sources/``."""

    def __init__(self, root: Path, code: Path = REPO) -> None:
        self.root = Path(root)
        self.code = Path(code)  # the checkout whose penta_core the stages import
        self.runs = 0

    @classmethod
    def create(cls, root: str | Path, clips: str | Path, overrides: dict[str, Any] | None = None,
               name: str = "bench", code: str | Path = REPO, cpu: bool = False) -> Project:
        """A project of ``code``'s pipeline (this checkout's by default) on ``clips``.

        ``cpu=True`` runs each stage's command under a wrapper that records its CPU seconds
        (:attr:`Run.stage_cpu`); it adds an interpreter start per stage.
        """
        root, code = Path(root), Path(code)
        root.mkdir(parents=True, exist_ok=True)
        for rel in COPIED:
            src, dest = code / rel, root / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            if src.is_dir():
                shutil.copytree(src, dest, ignore=shutil.ignore_patterns("__pycache__"))
            elif src.exists():
                shutil.copy2(src, dest)
        with (root / ".gitignore").open("a", encoding="utf-8") as f:
            f.write("/sources/\n/.bench/\n")
        if cpu:
            (root / ".bench").mkdir(exist_ok=True)
            (root / ".bench" / "cpu.py").write_text(_CPU_WRAPPER, encoding="utf-8")
            pipeline = yaml.safe_load((root / "dvc.yaml").read_text(encoding="utf-8"))
            for stage_name, stage in pipeline["stages"].items():
                stage["cmd"] = f"python .bench/cpu.py {stage_name} {stage['cmd']}"
            (root / "dvc.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False), encoding="utf-8")
        project = cls(root, code)
        project.add_sources(clips)
        params = yaml.safe_load((code / "params.yaml").read_text(encoding="utf-8"))
        params = merge(params, {"dataset": {"name": name, "source_dir": "sources"}})
        params = merge(params, overrides or {})
        (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
        run(["git", "init", "-q"], root)
        run(["git", "add", "-A"], root)
        run(["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost", "commit", "-qm", "pipeline"], root)
        return project

    @property
    def params(self) -> dict[str, Any]:
        return yaml.safe_load((self.root / "params.yaml").read_text(encoding="utf-8"))

    def set_params(self, overrides: dict[str, Any]) -> None:
        """Apply parameter overrides to the project's ``params.yaml`` (not committed)."""
        params = merge(self.params, overrides)
        (self.root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")

    @property
    def dataset_dir(self) -> Path:
        params = self.params
        return self.root / params["dataset"]["root"] / params["dataset"]["name"]

    def add_sources(self, clips: str | Path) -> int:
        """Hard-link every file of ``clips`` not yet in ``sources/``; return how many were added."""
        clips, added = Path(clips), 0
        for src in sorted(clips.rglob("*")):
            dest = self.root / "sources" / src.relative_to(clips)
            if src.is_file() and not dest.exists():
                dest.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.link(src, dest)
                except OSError:
                    shutil.copy2(src, dest)
                added += 1
        return added

    def stage_scripts(self) -> dict[str, str]:
        """``stages/x.py -> stage`` from dvc.yaml's commands."""
        stages = yaml.safe_load((self.root / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
        found = {}
        for name, stage in stages.items():
            script = next((w for w in str(stage.get("cmd", "")).split()
                           if w.startswith("stages/") and w.endswith(".py")), None)
            if script:
                found[script] = name
        return found

    def repro(self, *args: str) -> Run:
        """``dvc repro [args]``, timed stage by stage."""
        self.runs += 1
        logs = self.root / ".bench"
        logs.mkdir(exist_ok=True)
        rss_file = logs / f"rss-{self.runs}.txt"
        for old in logs.glob("cpu-*.txt"):
            old.unlink()
        cmd = [sys.executable, "-c", _WRAPPER, str(rss_file), "dvc", "repro", *args]
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=self.root, env=child_env(self.code), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, bufsize=1)
        watcher = _TreeWatcher(proc.pid, self.stage_scripts())
        watcher.start()
        lines, marks, skipped = [], [], []  # marks: (time, stage) where a stage began
        assert proc.stdout is not None
        for line in proc.stdout:
            now = time.perf_counter()
            lines.append(line)
            if m := _RUNNING.match(line):
                marks.append((now, m.group(1)))
            elif m := _SKIPPED.match(line):
                skipped.append(m.group(1))
                marks.append((now, None))
        code = proc.wait()
        end = time.perf_counter()
        watcher.done.set()
        watcher.join()
        output = "".join(lines)
        (logs / f"repro-{self.runs}.log").write_text(output, encoding="utf-8")
        if code != 0:
            raise SystemExit(f"dvc repro {' '.join(args)} failed in {self.root} ({code}):\n{output[-4000:]}")
        stages = {}
        for (t0, stage), (t1, _) in zip(marks, [*marks[1:], (end, None)]):
            if stage:
                stages[stage] = t1 - t0
        scripts = {stage: span[1] - span[0] for stage, span in watcher.seen.items()}
        rss_kb, cpu = (float(v) for v in (rss_file.read_text() or "0 0").split())
        stage_cpu = {f.stem[len("cpu-"):]: sum(float(v) for v in f.read_text().split())
                     for f in logs.glob("cpu-*.txt")}
        return Run(end - start, stages, scripts, skipped, rss_kb / 1024, watcher.peak_bytes / 2**20, output,
                   {stage: b / 2**20 for stage, b in watcher.stage_bytes.items()}, cpu, stage_cpu)

    def outputs(self, stage: str) -> list[Path]:
        """The paths a stage declares in dvc.yaml (outs, metrics, plots), templates filled from params."""
        declared = yaml.safe_load((self.root / "dvc.yaml").read_text(encoding="utf-8"))["stages"][stage]
        params = self.params

        def fill(text: str) -> str:
            def value(m: re.Match) -> str:
                node: Any = params
                for key in m.group(1).split("."):
                    node = node[key]
                return str(node)
            return re.sub(r"\$\{([^}]+)\}", value, text)

        paths = []
        for kind in ("outs", "metrics", "plots"):
            for entry in declared.get(kind, []) or []:
                name = next(iter(entry)) if isinstance(entry, dict) else entry
                paths.append(self.root / fill(name))
        return paths

    def clear_outputs(self, stage: str) -> None:
        """Delete what a stage wrote (persistent outputs too), so its next run starts clean."""
        for path in self.outputs(stage):
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)

    def run_stage(self, stage: str) -> float:
        """Seconds of ``python stages/<stage script>.py`` alone, outside DVC."""
        script = {v: k for k, v in self.stage_scripts().items()}[stage]
        start = time.perf_counter()
        run([sys.executable, script], self.root, code=self.code)
        return time.perf_counter() - start

    def dataset_files(self) -> int:
        """Files under the dataset folder, whatever their layout."""
        return sum(len(files) for _, _, files in os.walk(self.dataset_dir))

    def dvc_objects(self) -> int:
        """Objects in DVC's cache (``.dvc/cache/files/md5``), directory listings included."""
        return sum(len(files) for _, _, files in os.walk(self.root / ".dvc" / "cache" / "files" / "md5"))

    def dvc_objects_by_output(self) -> dict[str, int]:
        """DVC objects per output of ``dvc.lock`` (a folder: its files plus its listing), by path in the dataset."""
        import json

        import yaml

        found: dict[str, int] = {}
        lock = yaml.safe_load((self.root / "dvc.lock").read_text())
        for stage in lock["stages"].values():
            for out in stage.get("outs", []):
                md5 = out.get("md5", "")
                name = out["path"].split(f"/{self.dataset_dir.name}/", 1)[-1]
                cached = self.root / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]
                if not md5 or not cached.exists():
                    continue  # cache: false (metrics, plots): not an object
                found[name] = len(json.loads(cached.read_text())) + 1 if md5.endswith(".dir") else 1
        return found

    def source_files(self) -> int:
        return sum(len(files) for _, _, files in os.walk(self.root / "sources"))


def fmt_stages(run_: Run, order: list[str] | None = None) -> str:
    """One line per stage that ran: wall seconds, its script's seconds, DVC's rest."""
    return "\n".join(f"    {stage:<11} {run_.stages[stage]:7.2f} s  (script {run_.scripts.get(stage, 0):6.2f} s, "
                     f"DVC {run_.dvc_share(stage):5.2f} s; script peak RSS {run_.stage_rss_mb.get(stage, 0):5.0f} MB)"
                     for stage in order or list(run_.stages) if stage in run_.stages)
