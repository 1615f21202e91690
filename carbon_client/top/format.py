"""dstat 0.7.4's number formatting: ``cprint`` and its helpers, CSV values, colour themes.

A value and a column layout in, a string out: nothing here knows of samples
or terminals, so ``cprint`` is tested string for string against dstat's own
(tests/top/test_format.py).
"""

from __future__ import annotations

_C = {
    "black": "\033[0;30m", "darkred": "\033[0;31m", "darkgreen": "\033[0;32m",
    "darkyellow": "\033[0;33m", "darkblue": "\033[0;34m", "darkmagenta": "\033[0;35m",
    "darkcyan": "\033[0;36m", "gray": "\033[0;37m", "darkgray": "\033[1;30m", "red": "\033[1;31m",
    "green": "\033[1;32m", "yellow": "\033[1;33m", "blue": "\033[1;34m", "magenta": "\033[1;35m",
    "cyan": "\033[1;36m", "white": "\033[1;37m", "redbg": "\033[41m",
}
RESET = "\033[0;0m"
_UNDERLINE = "\033[4m"


class Theme:
    """dstat's ``theme`` for finished rows (``step == op.delay``); every code empty without colour."""

    __slots__ = ("title", "subtitle", "frame", "default", "error", "text", "unit", "done",
                 "colors", "reset")

    def __init__(self, color: bool = False, black_on_white: bool = False) -> None:
        if not color:
            for k in self.__slots__:
                setattr(self, k, "")
            self.colors = ("",)
            return
        c = _C
        self.title = c["darkblue"]
        self.frame = c["darkblue"]
        self.default = RESET
        self.reset = RESET
        self.error = c["white"] + c["redbg"]
        if black_on_white:
            self.subtitle = c["darkcyan"] + _UNDERLINE
            self.text = self.unit = self.done = c["black"]
            self.colors = tuple(c[k] for k in ("darkred", "darkmagenta", "darkgreen", "darkblue",
                                               "darkcyan", "black", "red", "green"))
        else:
            self.subtitle = c["blue"] + _UNDERLINE
            self.text = c["gray"]
            self.unit = c["darkgray"]
            self.done = c["white"]
            self.colors = tuple(c[k] for k in ("red", "yellow", "green", "blue", "cyan", "white",
                                               "darkred", "darkgreen"))


PLAIN = Theme(False)


class Style:
    """How numbers are forced: dstat's ``--bits``, ``--integer`` and ``--float``."""

    __slots__ = ("bits", "integer", "float")

    def __init__(self, bits: bool = False, integer: bool = False, float: bool = False) -> None:
        self.bits, self.integer, self.float = bits, integer, float


DEFAULT_STYLE = Style()


def dchg(var: float, width: int, base: int) -> tuple[str, int]:
    """dstat ``dchg``: an integer in ``width`` characters, divided by ``base`` as often as needed."""
    c = 0
    while True:
        ret = str(int(round(var)))
        if len(ret) <= width:
            return ret, c
        var = var / base
        c += 1


def fchg(var: float, width: int, base: int) -> tuple[str, int]:
    """dstat ``fchg``: as many decimals as fit in ``width`` once divided by ``base``."""
    c = 0
    while True:
        if var == 0:
            return "0", c
        ret = str(int(round(var, width)))
        if len(ret) <= width:
            i = width - len(ret) - 1
            while i > 0:
                ret = ("%%.%df" % i) % var
                if len(ret) <= width and ret != str(int(round(var, width))):
                    break
                i -= 1
            else:
                ret = str(int(round(var)))
            return ret, c
        var = var / base
        c += 1


_INF = float("inf")
_UNITS_1000 = (" ", "k", "M", "G", "T", "P", "E", "Z", "Y")
_UNITS_1024 = ("B", "k", "M", "G", "T", "P", "E", "Z", "Y")
_UNITS_BITS = ("b", "k", "M", "G", "T", "P", "E", "Z", "Y")


def cprint(var, ctype: str = "f", width: int = 4, scale: float = 1000,
           theme: Theme = PLAIN, style: Style = DEFAULT_STYLE) -> str:
    """One column as dstat 0.7.4's ``cprint`` prints it.

    ``ctype``: ``b`` bytes, ``d`` integer count, ``p`` percent, ``f`` float,
    ``s`` string. ``scale`` 1000 or 1024 adds a unit character (``k``, ``M``;
    ``B`` or a space below the first step) and takes it from ``width``; any
    other scale colours the value by ``int(var / scale)``. A negative value is
    a dash; so is None (no value for this interval: first sample, reset).
    """
    base = 1024 if scale == 1024 else 1000
    unit = False
    if scale in (1000, 1024) and width >= len(str(base)):
        unit = True
        width -= 1
    if var is None or (ctype != "s" and (var != var or abs(var) == _INF)):
        return theme.text + "-".rjust(width) + (" " if unit else "") + theme.default
    if ctype != "s" and var < 0:
        return theme.error + "-".rjust(width) + (" " if unit else "") + theme.default
    if base != 1024:
        units = _UNITS_1000
    elif style.bits and ctype == "b":
        units = _UNITS_BITS
        base = scale = 1000
        var = var * 8.0
    else:
        units = _UNITS_1024
    c = 0
    if style.integer and ctype in ("b", "d", "p", "f"):
        ret, c = dchg(var, width, base)
    elif style.float and ctype in ("b", "d", "p", "f"):
        ret, c = fchg(var, width, base)
    elif ctype in ("b", "d", "p"):
        ret, c = dchg(var, width, base)
    elif ctype == "f":
        ret, c = fchg(var, width, base)
    elif ctype == "s":
        ret = str(var)
    else:
        raise ValueError(f"unknown column type {ctype!r}")
    if ret == "0":
        color = theme.unit
    elif scale <= 0:
        color = theme.text
    elif ctype == "p" and round(var) >= 100.0:
        color = theme.done
    elif scale not in (1000, 1024):
        color = theme.colors[int(var / scale) % len(theme.colors)]
    elif ctype in ("b", "d", "f"):
        color = theme.colors[c % len(theme.colors)]
    else:
        color = theme.text
    ret = color + (ret.ljust(width) if ctype == "s" else ret.rjust(width))
    if unit:
        if round(var) != 0:
            ret += theme.unit + units[c]
        else:
            ret += " "
    return ret


def csv_value(var) -> str:
    """dstat's ``printcsv``: an integer when the value is whole, else 3 decimals; empty for None.

    "Whole" allows for float noise (10.000000000000002 is 10), which dstat's
    exact test would print as 10.000.
    """
    if var is None:
        return ""
    if isinstance(var, str):
        return var
    r = round(var)
    if abs(var - r) > 1e-9 * max(1.0, abs(var)):
        return "%.3f" % var
    return "%d" % int(r)

