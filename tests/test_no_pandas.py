"""Stage processes keep pandas out, and pyarrow works without it."""
from __future__ import annotations

import subprocess
import sys

from helpers import REPO


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)


def test_pyarrow_writes_and_reads_parquet_without_loading_pandas():
    done = _python(
        "import io, sys\n"
        "from penta_core.core.no_pandas import keep_pandas_out\n"
        "assert keep_pandas_out()\n"
        "import numpy as np, pyarrow as pa, pyarrow.parquet as pq\n"
        "table = pa.Table.from_arrays([pa.array(['a', 'b']), pa.array(np.array([1.5, 2.5]))], names=['id', 'x'])\n"
        "buffer = io.BytesIO(); pq.write_table(table, buffer)\n"
        "back = pq.ParquetFile(io.BytesIO(buffer.getvalue())).read()\n"
        "print(back.column('x').to_numpy().tolist(), back.column('id').to_pylist(), 'pandas' in sys.modules)\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[0] == "[1.5, 2.5] ['a', 'b'] False"


def test_importing_pandas_in_a_stage_process_fails_saying_why():
    done = _python("from penta_core.core.no_pandas import keep_pandas_out\nkeep_pandas_out()\nimport pandas\n")
    assert done.returncode != 0
    assert "ModuleNotFoundError: No module named 'pandas' in a stage process" in done.stderr


def test_a_process_that_already_loaded_pandas_keeps_it():
    done = _python("import pandas\nfrom penta_core.core.no_pandas import keep_pandas_out\n"
                   "print(keep_pandas_out())\nimport pandas.api.types\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_every_stage_script_keeps_pandas_out(tmp_path):
    """``main_for``, the body of every script in ``stages/``, installs the finder before anything else runs."""
    code = ("import sys\n"
            "from penta_core.core.stage_runner import main_for\n"
            "try:\n    main_for(lambda params, layout: [])\n"
            "except SystemExit:\n    pass\n"  # no params.yaml here: the stage fails, the finder is in place
            "import pyarrow as pa\npa.array([1.0])\n"
            "print('pandas' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "False", done.stderr
