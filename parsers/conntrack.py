"""/proc/net/stat/nf_conntrack (net/netfilter/nf_conntrack_standalone.c ct_cpu_seq_show).

A header naming the fields, then one row per possible CPU of ``%08x`` hex
values (the first field is followed by two spaces, as is the 13th)::

    entries  clashres found new invalid ignore delete chainlength insert ...
    00000000  00000000 00000000 00000000 00000000 00000000 00000000 ...

The names changed with the kernel (``searched`` and ``delete_list`` became
``clashres`` and ``chainlength`` in 5.x; very old rows lack
``search_restart``): fields are mapped by the header. ``entries`` is the
table's size, the same on every row; the other fields are per-CPU counters,
summed here.
"""

from __future__ import annotations

from string import hexdigits

from ._common import ParseError, excerpt

_ROW = "expected one hex value per header field"


def parse_conntrack_stat(text: str) -> dict[str, int]:
    """Field name -> value: ``entries`` as printed, every other field summed over the CPUs."""
    lines = [ln for ln in text.split("\n") if ln.strip()]
    if not lines:
        raise ParseError(f"nf_conntrack: {excerpt(text)}: no header line")
    header = lines[0]
    names = header.split()
    if not ("".join(names).replace("_", "").isalpha() and header.isascii()) or names[0] != "entries":
        raise ParseError(f"nf_conntrack: {excerpt(header)}: expected a header starting with 'entries'")
    sums = [0] * len(names)
    for line in lines[1:]:
        words = line.split()
        if len(words) != len(names) or "".join(words).strip(hexdigits):  # only hex digits: strip leaves ""
            raise ParseError(f"nf_conntrack: {excerpt(line)}: {_ROW}")
        sums = [s + int(w, 16) for s, w in zip(sums, words)]
        sums[0] = int(words[0], 16)
    return dict(zip(names, sums))
