"""Runs dstat's own cprint (loaded from the installed dstat script) on JSON cases from stdin.

Run with the system python3 that dstat itself uses: ``python3 dstat_cprint.py /usr/bin/dstat``.
stdin: ``{"cases": [[var, ctype, width, scale], ...], "color": bool, "bits": bool,
"integer": bool, "float": bool}``; stdout: the JSON list of strings cprint returned.
"""

import contextlib
import importlib.machinery
import importlib.util
import io
import json
import sys

loader = importlib.machinery.SourceFileLoader("dstat_module", sys.argv[1])
spec = importlib.util.spec_from_loader("dstat_module", loader)
dstat = importlib.util.module_from_spec(spec)
with contextlib.redirect_stdout(io.StringIO()):  # "You did not select any stats..."
    loader.exec_module(dstat)
req = json.load(sys.stdin)
dstat.op.bits = req.get("bits", False)
dstat.op.integer = req.get("integer", False)
dstat.op.float = req.get("float", False)
dstat.theme = dstat.set_theme()
if not req.get("color"):
    # what dstat's main() does without colours
    for key in dstat.theme:
        dstat.theme[key] = ""
    dstat.theme["colors_hi"] = dstat.theme["colors_lo"] = ("",)
json.dump([dstat.cprint(*case) for case in req["cases"]], sys.stdout)
