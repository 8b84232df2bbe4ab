"""What a user sees when a run fails: one line for an error they can act on, a traceback for a bug."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from penta_core import cli, report
from penta_core.core.errors import InputError, MissingInput, ParamError, PentaError
from penta_core.core.stage_runner import EXIT_INTERRUPTED, INTERRUPTED, run_stage


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text("dataset:\n  name: ds\n")
    return tmp_path


def test_a_penta_error_in_a_stage_is_one_line_and_exit_status_1(workdir, capsys):
    def step(params, layout):
        raise InputError("the folder holds\nnothing usable; add files")

    assert run_stage(step, "params.yaml") == 1
    captured = capsys.readouterr()
    assert captured.err == "error: the folder holds nothing usable; add files\n"
    assert captured.out == ""


@pytest.mark.parametrize("bug", [TypeError, KeyError, ValueError, OSError, RuntimeError])
def test_a_bug_in_a_stage_propagates_instead_of_becoming_one_line(workdir, capsys, bug):
    def step(params, layout):
        raise bug("a genuine bug")

    with pytest.raises(bug):
        run_stage(step, "params.yaml")
    assert "error:" not in capsys.readouterr().err


def test_a_bug_in_a_stage_script_prints_its_traceback_and_exits_non_zero(tmp_path):
    script = tmp_path / "buggy_stage.py"
    script.write_text(textwrap.dedent("""
        from penta_core.core.stage_runner import main_for

        def run(params, layout):
            return [{"a": 1}["b"]]

        main_for(run)
    """))
    (tmp_path / "params.yaml").write_text("dataset:\n  name: ds\n")
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode != 0
    assert "Traceback (most recent call last)" in result.stderr
    assert result.stderr.rstrip().endswith("KeyError: 'b'")
    assert "error:" not in result.stderr


def test_a_bug_in_a_cli_step_propagates_with_its_traceback(workdir, monkeypatch):
    def step(params, layout):
        return [len(None)]

    monkeypatch.setattr(cli, "load_step", lambda name: step)
    with pytest.raises(TypeError):
        cli.main(["--create", "--dataset", "ds"])


def test_ctrl_c_in_a_stage_is_one_line_and_exit_status_130(workdir, capsys):
    def step(params, layout):
        raise KeyboardInterrupt

    assert run_stage(step, "params.yaml") == EXIT_INTERRUPTED == 130
    assert capsys.readouterr().err == INTERRUPTED + "\n"


def test_callers_that_catch_the_builtin_kinds_still_catch_user_errors():
    with pytest.raises(ValueError):
        raise ParamError("params: 'seed' must be an integer >= 0, got -1")
    with pytest.raises(FileNotFoundError, match=r"^no index; run the import stage first$"):
        raise MissingInput("no index; run the import stage first")
    assert issubclass(ParamError, PentaError) and issubclass(MissingInput, PentaError)


def test_the_report_of_a_dataset_not_built_yet_is_one_line_naming_the_fix(workdir, capsys):
    assert report.main(["params.yaml"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: no report yet (datasets/ds/metrics/validation.json does not exist)")
    assert err.endswith("run `dvc repro` first\n") and err.count("\n") == 1


def test_a_bad_annotation_page_flag_is_one_line(workdir, capsys):
    assert cli.main(["--annotate-ui", "--port", "70000"]) == 1
    assert capsys.readouterr().err == "error: --port must be between 0 and 65535, got 70000\n"
