"""A small YAML writer for the alert rule files: block mappings and sequences, flow style
for short mappings of scalars, strings quoted unless plainly safe, long ones folded.

Stdlib only (the builder runs with any python3); a test loads the output with PyYAML
and compares it with the data it was written from.
"""

from __future__ import annotations

import re
import textwrap

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_ ./-]*\Z")
_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n"}
WIDTH = 100


def scalar(value, indent: int = 0) -> str:
    """One scalar; a long string folded over lines indented by ``indent + 2``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value)
    if _PLAIN.match(text) and text.lower() not in _WORDS and not text.endswith(" ") and len(text) < 60:
        return text
    quoted = "'" + text.replace("'", "''") + "'"
    if len(quoted) + indent <= WIDTH or "  " in text:
        return quoted
    # A line break inside single quotes folds to one space (YAML 1.2, 7.3.2).
    lines = textwrap.wrap(quoted, WIDTH - indent - 2, break_long_words=False, break_on_hyphens=False)
    return ("\n" + " " * (indent + 2)).join(lines)


def _flow(d: dict) -> bool:
    return len(d) <= 3 and all(not isinstance(v, (dict, list)) and len(str(v)) < 40 for v in d.values())


def dump(obj, indent: int = 0) -> list[str]:
    pad = " " * indent
    out = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, dict) and _flow(v):
                out.append(f"{pad}{k}: {{" + ", ".join(f"{a}: {scalar(b)}" for a, b in v.items()) + "}")
            elif isinstance(v, dict):
                out.append(f"{pad}{k}:")
                out += dump(v, indent + 2)
            elif isinstance(v, list) and all(not isinstance(i, (dict, list)) for i in v):
                out.append(f"{pad}{k}: [" + ", ".join(scalar(i) for i in v) + "]")
            elif isinstance(v, list):
                out.append(f"{pad}{k}:")
                out += dump(v, indent + 2)
            else:
                out.append(f"{pad}{k}: {scalar(v, indent)}")
    else:
        for item in obj:
            lines = dump(item, indent + 2)
            out.append(pad + "- " + lines[0][indent + 2:])
            out += lines[1:]
    return out


def render(obj, header: str) -> str:
    comments = "".join(f"# {line}".rstrip() + "\n" for line in header.strip("\n").splitlines())
    return comments + "\n".join(dump(obj)) + "\n"
