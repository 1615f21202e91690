"""The live view of ``carbon-client run``: dstat-style rows while it streams.

``run`` imports this module only when it shows rows (on a terminal, or with
``--show``); it pulls in nothing heavier than the blocks and the screen.
"""

from __future__ import annotations

from typing import Optional

from carbon_client.top.blocks import (
    Block, Frame, cpu_block, disk_block, net_block, nfs_block, page_block, sender_block, sys_block,
    writeboost_block,
)
from carbon_client.top.screen import Screen, term_colors


class LiveView:
    """One row per cycle of ``run``, ending with a ``carbon`` block for the sender.

    The blocks are chosen at the first cycle from the groups it sampled. That
    cycle has no rates (one sample), so it prints only the header; rows follow
    from the second cycle on. Every value is one of the cycle's samples: the
    ``carbon`` block reads the agent's health sample (group ``carbon_client``),
    whose ``sent`` the sampler has already made a rate.

    """

    def __init__(self, out, *, color: Optional[bool] = None, tty: Optional[bool] = None,
                 termsize=None) -> None:
        self.out = out
        self.color = term_colors(out) if color is None else color
        self.tty = tty
        self.termsize = termsize
        self.screen: Optional[Screen] = None

    @staticmethod
    def _blocks(frame: Frame) -> list[Block]:
        have = frame.collectors
        blocks = []
        if "cpu" in have:
            blocks.append(cpu_block())
        if "disk" in have:
            blocks.append(disk_block(["total"]))
        if "net" in have:
            blocks.append(net_block(["total"]))
        if "paging" in have:
            blocks.append(page_block())
        if "system" in have:
            blocks.append(sys_block())
        for g in ("nfs", "nfsd"):
            if g in have:
                blocks.append(nfs_block(g))
        if "writeboost" in have:
            b = writeboost_block(frame)
            if b is not None:
                blocks.append(b)
        blocks.append(sender_block())
        return blocks

    def show(self, result) -> None:
        """The header at the first cycle (``result``: the agent's CycleResult), one row at each later one."""
        frame = Frame(result.samples)
        if self.screen is None:
            self.screen = Screen(self._blocks(frame), self.out, color=self.color, tty=self.tty,
                                 termsize=self.termsize)
            self.screen.write(self.screen.start())
            return
        self.screen.write(self.screen.render(frame))
