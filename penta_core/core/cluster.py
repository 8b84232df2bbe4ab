"""Check, before any work, that the Dask scheduler ``engine.scheduler`` names answers.

A wrong address would otherwise surface deep inside a stage, after folders
were made, as a Dask time-out with a traceback. A plain socket connect with a
short time-out gives one line naming the key instead, and nothing is written.
This module imports no Dask: the check runs where the ``dask`` extra is missing.
"""
from __future__ import annotations

import re
import socket

from penta_core.core.errors import ClusterError, ParamError

# Long enough for a scheduler across a data centre, short enough that a typo fails at once.
CONNECT_TIMEOUT_S = 3.0
# Steps that send per-sample work to the executor: the only ones that need the cluster.
EXECUTOR_STEPS = frozenset({"import", "augment", "synthesize", "features", "families", "targets"})

_ADDRESS = re.compile(r"(tcp|tls)://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})")


def parse_address(address: str) -> tuple[str, str, int]:
    """``(scheme, host, port)`` of ``tcp://host:port`` (or ``tls://``); :class:`ParamError` otherwise.

    Example
    -------
    >>> parse_address("tcp://10.0.0.5:8786")
    ('tcp', '10.0.0.5', 8786)
    """
    match = _ADDRESS.fullmatch(address) if isinstance(address, str) else None
    if match is None or not 0 < int(match.group(3)) < 65536:
        raise ParamError(f"params: 'engine.scheduler' must be \"\" (a local cluster) or an address such as "
                         f"tcp://10.0.0.5:8786, got {address!r}")
    return match.group(1), match.group(2).strip("[]"), int(match.group(3))


def check_scheduler(address: str, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """Raise :class:`ClusterError` (one line) unless a Dask scheduler answers at ``address`` within ``timeout_s``.

    A connect alone is not enough: a proxy or a firewall may accept any
    connection. A Dask server speaks first on a ``tcp://`` connection (its
    handshake: a message of a few dozen bytes whose first 8 give its length),
    so nothing, or something else, within the time-out is no scheduler. On
    ``tls://`` the client speaks first, so the connect is all that is checked.
    """
    scheme, host, port = parse_address(address)
    fix = "start it (dask scheduler) or fix the address"
    header = None
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as sock:
            if scheme == "tcp":
                sock.settimeout(timeout_s)
                header = b""
                while len(header) < 8:
                    got = sock.recv(8 - len(header))
                    if not got:
                        break
                    header += got
    except TimeoutError:
        raise ClusterError(f"engine.scheduler: no answer from a Dask scheduler at {address} within "
                           f"{timeout_s:g} s; {fix}") from None
    except OSError as err:
        why = err.strerror or type(err).__name__
        raise ClusterError(f"engine.scheduler: cannot reach the Dask scheduler at {address} ({why}); {fix}") from None
    if header is not None and (len(header) < 8 or not 0 < int.from_bytes(header, "little") < 2**20):
        raise ClusterError(f"engine.scheduler: what answers at {address} is not a Dask scheduler; {fix}")


def check_engine(params: dict, steps) -> None:
    """Check the cluster the params name when one of ``steps`` would use it; a no-op for the local executor."""
    engine = params.get("engine") or {}
    if engine.get("executor") != "dask" or not EXECUTOR_STEPS.intersection(steps):
        return
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise ClusterError("engine.executor: dask needs the dask extra: pip install 'penta_core[dask]'") from None
    if engine.get("scheduler"):
        check_scheduler(engine["scheduler"])
