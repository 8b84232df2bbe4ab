"""The one numba warm-up: a project cache folder, filled once, covering the kernels of both audio stages."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from helpers import REPO

from penta_core.engine import parallel
from penta_core.engine.numba_cache import prepare_numba


def test_cache_folder_is_set_for_workers_and_an_existing_choice_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    assert prepare_numba(tmp_path / "numba", warm_up=False) == (tmp_path / "numba").resolve()
    assert os.environ["NUMBA_CACHE_DIR"] == str((tmp_path / "numba").resolve())
    assert (tmp_path / "numba").is_dir()
    prepare_numba(tmp_path / "other", warm_up=False)
    assert os.environ["NUMBA_CACHE_DIR"] == str((tmp_path / "numba").resolve())


def test_a_folder_already_warmed_for_these_library_versions_is_not_warmed_again(tmp_path, monkeypatch):
    import importlib.metadata

    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    versions = "-".join(importlib.metadata.version(p) for p in ("librosa", "numba"))
    (tmp_path / f"penta-warm-{versions}").touch()

    def no_worker(*args, **kwargs):
        raise AssertionError("a warm-up process was started")

    monkeypatch.setattr(parallel, "supervised_map", no_worker)
    assert prepare_numba(warm_up=True) == tmp_path


@pytest.mark.parametrize(("ok", "stamped"), [(True, True), (False, False)])
def test_only_a_successful_warm_up_leaves_a_stamp(tmp_path, monkeypatch, ok, stamped):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))

    def warm_up(fn, items, **kwargs):
        yield 0, parallel.Outcome(ok=ok, reason=None if ok else "worker crashed")

    monkeypatch.setattr(parallel, "supervised_map", warm_up)
    prepare_numba(warm_up=True)
    names = [p.name for p in tmp_path.iterdir()]
    assert len(names) == int(stamped) and all(n.startswith("penta-warm-") for n in names)


@pytest.mark.slow
def test_the_warm_up_compiles_every_kernel_the_audio_stages_reach(tmp_path):
    # In a fresh interpreter: after the warm-up, no stage's audio code (features, augment,
    # families) compiles a new signature of any librosa kernel (mono and several channels,
    # short and long signals).
    script = textwrap.dedent("""
        import sys
        import numpy as np
        from numba.core.dispatcher import Dispatcher
        from penta_core.engine.numba_cache import warm_up_librosa

        def compiled():
            return {f"{name}.{attr}": sorted(map(str, obj.overloads))
                    for name, module in list(sys.modules.items()) if name.startswith("librosa")
                    for attr, obj in vars(module).items() if isinstance(obj, Dispatcher)}

        warm_up_librosa()
        before = compiled()
        from penta_core.augment.audio import AudioAugmenter
        from penta_core.families.audio import audio_print
        from penta_core.features.audio import extract_audio_features_from_array
        import soundfile
        rng = np.random.default_rng(0)
        for sr, seconds in ((22050, 0.3), (44100, 4.0)):
            for channels in (1, 2, 5):
                y = (0.1 * rng.standard_normal((channels, int(sr * seconds)))).astype(np.float32)
                AudioAugmenter().augment(y, sr, np.random.default_rng(1))
            extract_audio_features_from_array(y[0], sr)
            soundfile.write(sys.argv[1], y.T, sr)
            audio_print(sys.argv[1])
        new = {k: v for k, v in compiled().items() if before.get(k) != v}
        assert before and not new, new
    """)
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "take.wav")], cwd=REPO,
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr[-2000:]
