"""dstat's blocks: titles, nicks, widths, rows and CSV columns, worked out by hand from dstat 0.7.4."""

from __future__ import annotations

from carbon_client.top.blocks import Block, cpu_block, disk_block, net_block, page_block, sys_block
from carbon_client.top.format import Theme

PLAIN = Theme(False)
COLOR = Theme(True)


def test_headers_as_dstat_prints_them():
    # dstat 0.7.4 -cdngy header (titles centered, spaces turned into dashes)
    blocks = [cpu_block(), disk_block(["total"]), net_block(["total"]), page_block(), sys_block()]
    assert " ".join(b.title(PLAIN) for b in blocks) == (
        "--total-cpu-usage-- -dsk/total- -net/total- ---paging-- ---system--"
    )
    assert "|".join(b.subtitle(PLAIN) for b in blocks) == (
        "usr sys idl wai stl| read  writ| recv  send|  in   out | int   csw "
    )
    assert [b.statwidth() for b in blocks] == [19, 11, 11, 11, 11]


def test_per_device_headers():
    b = disk_block(["total", "sda", "sda1", "dm-0"])
    # str.center puts the odd space on the left for an odd margin (as in dstat)
    assert b.title(PLAIN) == "-dsk/total- --dsk/sda-- --dsk/sda1- --dsk/dm-0-"
    assert b.subtitle(PLAIN) == " read  writ: read  writ: read  writ: read  writ"
    assert b.show([[1, 2], [3, 4], [None, None], [0, 1048576]], PLAIN) == (
        "   1B    2B:   3B    4B:   -     - :   0  1024k"
    )
    assert b.csvtitle() == '"dsk/total",,"dsk/sda",,"dsk/sda1",,"dsk/dm-0",'
    assert b.csvsubtitle() == (
        '"dsk/total:read","dsk/total:writ","dsk/sda:read","dsk/sda:writ",'
        '"dsk/sda1:read","dsk/sda1:writ","dsk/dm-0:read","dsk/dm-0:writ"'
    )
    # one instance: plain nicks, as dstat
    assert disk_block(["total"]).csvsubtitle() == '"read","writ"'
    assert page_block().csvtitle() == '"paging",'


def test_coloured_title_joins_instances_with_a_dash():
    # dstat: with colours the per-instance titles are joined by a frame-coloured dash
    b = net_block(["total", "lo"])
    blue = "\033[0;34m"
    assert b.title(COLOR) == blue + "-net/total-" + blue + "-" + blue + "---net/lo--"


def test_block_types_per_column():
    b = Block("carbon", ("sent", "queue", "conn"), "d", 5, 1000, lambda f: [],
              types=("d", "d", "s"), scales=(1000, 1000, 0))
    assert b.show([[250, 7, "up"]], PLAIN) == " 250     7  up   "
    assert b.title(PLAIN) == "------carbon-----"
