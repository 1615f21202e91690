"""The optional C accelerators, and a switch to do without them.

``parsers._speedups`` parses the files read every cycle (loadavg, stat,
meminfo, diskstats, net/dev); ``carbon_client._speedups`` computes rates,
renders lines, and runs a whole group (rates, derived metrics, aggregate,
lines) in one call (``Program``, see ``Sampler.update_lines``). Both are
built by ``pip install`` when a C compiler is there and skipped when not;
either way the Python code is the reference: the C
functions return the same results or decline (None, -1) and the Python runs.
``CARBON_CLIENT_PURE_PYTHON=1`` in the environment runs the Python only (to
compare, or to rule the C out when chasing a problem).
"""

from __future__ import annotations

import parsers._common as _parsers
from carbon_client import lines, sampling

try:
    from parsers import _speedups as _parse_c
except ImportError:  # built without a C compiler
    _parse_c = None
try:
    from carbon_client import _speedups as _engine_c
except ImportError:
    _engine_c = None


def built() -> bool:
    """Whether both extensions were compiled and import."""
    return _parse_c is not None and _engine_c is not None


def active() -> bool:
    """Whether the agent is using them now."""
    return _parsers.speedups is not None and lines._fast is not None and sampling._fast is not None


def disable() -> None:
    _parsers.speedups = None
    lines._fast = None
    sampling._fast = None


def enable() -> None:
    """Use whatever was built (the default)."""
    _parsers.speedups = _parse_c
    lines._fast = _engine_c.render if _engine_c is not None else None
    sampling._fast = _engine_c


def describe() -> str:
    if active():
        return "C speedups on"
    return "C speedups off" if built() else "C speedups not built (pure Python)"
