"""The terminal: colours, its size, and dstat's headers, trimming and rows.

:class:`Screen` turns a :class:`~carbon_client.top.blocks.Frame` into text as
dstat's ``perform`` does (header first, blocks that do not fit the width
cut, the header again every screenful); it writes to whatever ``out`` is.
"""

from __future__ import annotations

import os
import sys
from typing import Callable, Optional

from carbon_client.top.blocks import Block, Frame
from carbon_client.top.format import DEFAULT_STYLE, Style, Theme


def term_colors(out) -> bool:
    """dstat's gettermcolor: a terminal whose terminfo entry has colours."""
    if not _isatty(out) or os.environ.get("TERM", "dumb") == "dumb":
        return False
    try:
        import curses
    except ImportError:
        return False
    try:
        curses.setupterm(fd=out.fileno())
        return curses.tigetnum("colors") >= 0
    except (curses.error, OSError, ValueError, AttributeError):  # no terminfo entry for TERM, no fd
        return False


def _isatty(out) -> bool:
    try:
        return out.isatty()
    except (AttributeError, ValueError):
        return False


def _termsize(out) -> tuple[int, int]:
    try:
        size = os.get_terminal_size(out.fileno())
        return size.lines, size.columns
    except (AttributeError, ValueError, OSError):
        return 25, 80


class Screen:
    """Headers, trimming to the terminal width, and the rows, as dstat's ``perform`` does them.

    The header goes out once at :meth:`start`; on a terminal it comes again
    every screenful (a header and ``lines - 2`` rows: dstat's ``--noupdate``
    rhythm, since rows here are whole lines) and whenever a resize changes
    which blocks fit, unless ``headers`` is off (``--noheaders``).
    """

    def __init__(self, blocks: list[Block], out, *, color: bool, headers: bool = True,
                 tty: Optional[bool] = None, termsize: Optional[Callable[[], tuple[int, int]]] = None,
                 style: Style = DEFAULT_STYLE, black_on_white: bool = False, err=None) -> None:
        self.blocks = blocks
        self.out = out
        self.err = err if err is not None else sys.stderr
        self.tty = _isatty(out) if tty is None else tty
        self.termsize = termsize or (lambda: _termsize(out))
        self.theme = Theme(color, black_on_white)
        self.style = style
        self.headers = headers
        self.rows = 0
        self.cols = 0
        self.visible = list(blocks)

    def _fit(self, cols: int) -> list[Block]:
        """dstat's vislist: the blocks that fit in ``cols`` columns."""
        vis, cur = [], 0
        for b in self.blocks:
            w = cur + b.statwidth() + 1
            if w <= cols or (vis == self.blocks[:-1] and w < cols):
                vis.append(b)
                cur = w
        return vis

    def header(self) -> str:
        t, vis = self.theme, self.visible
        titles = (t.frame + " ").join(b.title(t) for b in vis)
        subs = (t.frame + "|").join(b.subtitle(t) for b in vis)
        if vis != self.blocks:
            titles += t.title + ">"
            subs += t.title + ">"
        return titles + t.reset + "\n" + subs + t.reset + "\n"

    def start(self) -> str:
        """The first header."""
        if self.tty:
            self.cols = self.termsize()[1]
            self.visible = self._fit(self.cols)
            if self.visible != self.blocks:
                print("Terminal width too small, trimming output.", file=self.err)
        return self.header()

    def render(self, frame: Frame) -> str:
        """One row, after a header when one is due."""
        text = ""
        if self.tty:
            lines, cols = self.termsize()
            old = self.visible
            if cols != self.cols:
                self.visible = self._fit(cols)
                self.cols = cols
            if self.headers and lines >= 6 and (
                old != self.visible or (self.rows and self.rows % (lines - 2) == 0)
            ):
                text = self.header()
        t = self.theme
        vis = self.visible
        line = (t.frame + "|").join(b.show(b.compute(frame), t, self.style) for b in vis)
        if vis != self.blocks:
            line += t.frame + ">"
        self.rows += 1
        return text + line + t.reset + "\n"

    def write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()

