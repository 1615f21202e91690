"""The state and thread count of a process from /proc/<pid>/stat (fs/proc/array.c do_task_stat).

One line: ``pid (comm) state ppid ... num_threads ...``. comm may hold
spaces and ``)``, so the fields after it start after the LAST ``)``: state
is field 3, num_threads field 20. This reads those two and nothing else,
for a pass over every process each cycle.
"""

from __future__ import annotations

from ._common import ParseError, excerpt


def parse_pid_state(text: str) -> tuple[str, int]:
    """(state letter, num_threads). The letter is any ASCII letter: fs/proc/array.c
    task_state_array's set changed over the years (I and P in 4.14, x and K gone)."""
    rest = text[text.rfind(")") + 1:].split(None, 18)
    if len(rest) < 18 or text.find("(") < 1 or len(rest[0]) != 1 or not (
            rest[0].isascii() and rest[0].isalpha()):
        raise ParseError(f"pid stat: {excerpt(text)}: expected 'pid (comm) state ...' and at least 20 fields")
    threads = rest[17]
    if not (threads.isdigit() and threads.isascii()) or len(threads) > 10:
        raise ParseError(f"pid stat: {excerpt(text)}: num_threads {excerpt(threads)} is not a count")
    return rest[0], int(threads)
