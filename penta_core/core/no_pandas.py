"""Keep pandas out of stage processes.

pyarrow imports pandas the first time it builds or converts anything (``pa.array``,
``Table.to_numpy``, ``pq.write_table``), only to ask whether its input is a DataFrame.
No stage hands it one, and the import costs 0.3-0.4 s of CPU in each stage that reads
or writes Parquet (features, validate, baseline, export): about a second of every
build and of every small update. pyarrow treats a pandas that cannot be imported as
absent, which is what this finder makes it in a stage process. Library users, the
CLI and trainers (``penta_core.training``) are untouched.
"""
from __future__ import annotations

import sys
from importlib.abc import MetaPathFinder


class _NoPandas(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError(
                f"No module named {name!r} in a stage process: stages do not load pandas "
                "(see penta_core.core.no_pandas)", name=name)
        return  # not pandas: the next finder looks for it


def keep_pandas_out() -> bool:
    """Make ``import pandas`` fail in this process unless pandas is already loaded.

    Returns whether pandas is now kept out. Calling it again changes nothing.
    """
    if "pandas" in sys.modules:
        return False
    if not any(isinstance(finder, _NoPandas) for finder in sys.meta_path):
        sys.meta_path.insert(0, _NoPandas())
    return True
