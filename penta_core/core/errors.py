"""The errors a user can act on: one class per kind, all under :class:`PentaError`.

The stage scripts, ``penta-dataset`` and ``python -m penta_core.report`` print
a :class:`PentaError` as one line (``error: ...``, exit status 1) whose message
names the fix; any other exception is a bug and keeps its traceback. Each
class also derives from the built-in its kind matches, so callers that catch
``ValueError`` or ``FileNotFoundError`` keep working.
"""
from __future__ import annotations


class PentaError(Exception):
    """Base of every error a user can act on; the message names the fix."""


class ParamError(PentaError, ValueError):
    """A parameter has the wrong type or value; the message names the key."""


class ConfigError(PentaError, ValueError):
    """A file a parameter names is missing or malformed (the label vocabulary)."""


class MissingInput(PentaError, FileNotFoundError):
    """Something a step reads does not exist: the source folder, the dataset, an index, the manifest."""


class InputError(PentaError, ValueError):
    """An input exists but cannot be used: a source path that is a file, a folder with nothing valid."""


class DatasetBusy(PentaError, RuntimeError):
    """Another process is writing the same dataset."""


class ValidationFailed(PentaError, ValueError):
    """The dataset fails a validation check and ``validate.strict`` is true."""


class MissingTool(PentaError, RuntimeError):
    """An external program the parameters ask for is not installed (FluidSynth)."""


class OutputError(PentaError, OSError):
    """The dataset folder cannot be written: permission denied, read-only or full."""


class ClusterError(PentaError, ConnectionError):
    """The Dask scheduler ``engine.scheduler`` names cannot be reached, or the ``dask`` extra is not installed."""
