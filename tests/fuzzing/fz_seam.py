"""The fuzzer's `SCAFFOLD_SEAM` hook (`SCAFFOLD_SEAM=fz_seam:hook`, this directory on PYTHONPATH).

Configured by the environment, one fault per run, each at the N-th call of a moment (or, with
FZ_KILL_PATH / FZ_SAVE_PATH / FZ_SECOND_PATH, at its first call about that path: a pinned regression
stays at its file whatever order a run swaps its files in):
FZ_KILL_AT / FZ_KILL_N: `os._exit(137)` there (a kill, a power cut).
FZ_SAVE_AT / FZ_SAVE_N / FZ_SAVE_FILE / FZ_SAVE_TEXT / FZ_SAVE_FLAG: append the text to the file
  (an editor's save landing mid-run), then create the flag file so the fuzzer knows it happened.
FZ_SECOND_AT / FZ_SECOND_N / FZ_SECOND_DIR / FZ_SECOND_PROJECT: start a second `scaffold gen` of
  the project (without the hook) whose output and exit code land in FZ_SECOND_DIR, and give it
  half a second to barge in; FZ_SECOND_ARGS (a JSON list) runs `scaffold ARGS` instead.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

_counts: dict[str, int] = {}
_fired: set[str] = set()


def _due(kind: str, moment: str, path: str) -> bool:
    if os.environ.get(f"FZ_{kind}_AT") != moment:
        return False
    wanted = os.environ.get(f"FZ_{kind}_PATH")
    if wanted is None:
        return _counts[moment] == int(os.environ.get(f"FZ_{kind}_N", "1"))
    if path != wanted or kind in _fired:
        return False
    _fired.add(kind)
    return True


def hook(moment: str, path: str) -> None:
    _counts[moment] = _counts.get(moment, 0) + 1
    if _due("SAVE", moment, path):
        with open(os.environ["FZ_SAVE_FILE"], "a", encoding="utf-8", newline="") as out:
            out.write(os.environ["FZ_SAVE_TEXT"])
        open(os.environ["FZ_SAVE_FLAG"], "w").close()
    if _due("SECOND", moment, path):
        where = os.environ["FZ_SECOND_DIR"]
        open(os.path.join(where, "started"), "w").close()  # before it starts: the fuzzer then waits for its end
        env = {k: v for k, v in os.environ.items() if k != "SCAFFOLD_SEAM"}
        arguments = json.loads(os.environ.get("FZ_SECOND_ARGS", "null")) or [
            "gen",
            "-C",
            os.environ["FZ_SECOND_PROJECT"],
        ]
        command = [sys.executable, "-m", "scaffold", *arguments]
        script = 'out="$1"; shift; "$@" >"$out/out" 2>&1; echo $? >"$out/rc.tmp"; mv "$out/rc.tmp" "$out/rc"'
        subprocess.Popen(["sh", "-c", script, "sh", where, *command], env=env, start_new_session=True)
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline and not os.path.exists(os.path.join(where, "rc")):
            time.sleep(0.02)
    if _due("KILL", moment, path):
        os._exit(137)
