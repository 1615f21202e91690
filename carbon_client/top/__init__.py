"""dstat-style rows from the agent's own collectors: ``carbon-client top`` and the live view of ``run``.

``carbon-client top [flags] [DELAY [COUNT]]`` prints the rows dstat 0.7.4
prints, with its flags (``-c -d -n -l -m -g -s -y``, ``-D``, ``-N``, ``-f``,
``--nocolor``, ``--noheaders``, ``--output``...), its grouped headers, its
fixed-width columns scaled with B/k/M/G (``cprint``: base 1024 for bytes, 1000
for counts) and its colours. The numbers are the collectors' samples (the same
values that go to Graphite, rates and each group's ``total`` included),
arranged here into dstat's columns; nothing in this package reads /proc or
/sys, or computes a rate.

The modules, one job each: :mod:`~carbon_client.top.format` (dstat's number
formatting and colours), :mod:`~carbon_client.top.blocks` (the columns, from
one cycle's samples), :mod:`~carbon_client.top.screen` (headers, trimming,
rows), :mod:`~carbon_client.top.command` (``carbon-client top``: flags, its
loop, CSV output) and :mod:`~carbon_client.top.live` (the rows ``run`` shows,
with a ``carbon`` block for the sender).

Where the columns come from:

- cpu ``usr`` is user + nice + irq + softirq (dstat 0.7.3+), ``sys``, ``idl``,
  ``wai``, ``stl``: percent of all CPU time, as the cpu group sends it.
- ``dsk/<name>`` and ``net/<name>`` are the disk and net groups' instances;
  ``-D dm-0`` finds a dm device under the name the disk group gives it.
  ``dsk/total`` and ``net/total`` are those groups' own ``total``.
- ``memory used`` is total - free - buffers - cached - reclaimable slab +
  shmem; ``paging`` is swap traffic (pswpin/pswpout) in bytes; ``system`` is
  interrupts and context switches per second.
- ``--nfs`` and ``--nfsd`` have dstat's nfs3 columns, counted over every NFS
  version the kernel reports (dstat counts v3 only); ``--writeboost`` shows,
  per target, whichever hit/miss, dirty and lag metrics the writeboost group
  declares.

The first row. dstat prints averages since boot in its first row (and 0 for
the network). This view never makes up a rate from one sample: it samples
once at the start and prints the header at once; then rows come on the
multiples of DELAY seconds of the wall clock, as ``run`` timestamps its
lines. The first row covers the time from the start to the first of those
boundaries (at most DELAY seconds; a start just before a boundary gives a
short first interval, where CPU percentages may be dashes), and every later
row covers exactly one interval. COUNT rows take at most COUNT x DELAY
seconds.

Differences from dstat, on purpose:
- ``dsk/total`` sums every block device that is neither a partition nor
  stacked on others (dm, md). dstat 0.7.4 finds partitions by a name pattern
  that misses nvme, mmcblk and xvd partitions and so counts their bytes
  twice; the disk group asks /sys and does not.
- ``net/total`` sums physical interfaces (with /sys/class/net/<nic>/device;
  without /sys, all but lo, bonding masters and VLAN sub-interfaces), as the
  net group sends it. dstat sums every interface but lo, bonds and VLANs, so
  bridges, veths, ifb and tunnels count there and a container's traffic
  counts more than once (on its veth, the bridge and the NIC); ``-N`` with
  the names still shows any interface.
- a value the collectors do not have this interval (a device that appeared
  or was reset, a -D name that does not exist, CPU percentages when no tick
  passed) is a dash, where dstat prints 0 or drops the column;
- rows are whole lines: dstat redraws the current row every second when
  DELAY > 1 on a terminal; here a row appears once, when its interval ends;
- after a stall (a suspended terminal, an overloaded host) the boundaries
  missed are skipped and the next row is the rate over the whole time since
  the last one; dstat skips them too (and says "missed N ticks") but divides
  what the whole stall counted by DELAY;
- ``--output`` writes dstat's CSV layout (four preamble lines, the titles,
  the nicks, one line per row; appended when the file exists). dstat 0.7.4
  itself stops at its first CSV row under Python 3 (``types.ListType``).
"""
