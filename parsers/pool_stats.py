"""/proc/fs/nfsd/pool_stats: the NFS server's thread pools (net/sunrpc/svc_xprt.c svc_pool_stats_show).

```
# pool packets-arrived sockets-enqueued threads-woken threads-timedout
0 49 4 45 0
```

The header names the columns and each row is one pool: its id, then one
counter per column. Columns are taken by the header's names (older kernels printed
``overloads-avoided`` too; 6.x prints threads-timedout as a fixed 0), so a
kernel's own set comes through as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._common import OnError, ParseError, excerpt, report, uints


@dataclass(frozen=True, slots=True)
class PoolStats:
    """The columns the header names after ``pool`` (as printed: ``packets-arrived``),
    and each pool's id and counters in that order."""

    columns: tuple[str, ...]
    pools: tuple[tuple[int, tuple[int, ...]], ...]


def parse_pool_stats(text: str, on_error: OnError = None) -> PoolStats:
    lines = [line for line in text.split("\n") if line.strip()]
    if not lines:
        raise ParseError("pool_stats: empty")
    head = lines[0].split()
    if head[:2] != ["#", "pool"] or len(head) < 3 or len(set(head)) != len(head):
        raise ParseError(f"pool_stats: {excerpt(lines[0])}: expected '# pool' and the column names")
    columns = tuple(head[2:])
    pools = []
    seen: set[int] = set()
    for line in lines[1:]:
        f = line.split()
        try:
            if len(f) != len(columns) + 1:
                raise ParseError(f"pool_stats: {excerpt(line)}: expected a pool id and {len(columns)} values")
            pool, *values = uints("pool_stats", line, f)
            if pool in seen:
                raise ParseError(f"pool_stats: {excerpt(line)}: pool {pool} listed twice")
        except ParseError as err:
            report(on_error, err)
            continue
        seen.add(pool)
        pools.append((pool, tuple(values)))
    return PoolStats(columns, tuple(pools))
