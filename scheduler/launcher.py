"""`make run`: the web app and the scheduler side by side in one terminal; one Ctrl-C (or a
SIGTERM) stops both, and when either ends the other is stopped too.

    python -m scheduler.launcher [--host 127.0.0.1] [--port 5000]
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys


def _interrupt(_signum, _frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--host", default="127.0.0.1")
    options.add_argument("--port", default="5000")
    args = options.parse_args(argv)
    env = os.environ | {"FLASK_APP": os.environ.get("FLASK_APP", "app")}
    flask = [sys.executable, "-m", "flask"]
    children = [subprocess.Popen(flask + ["run", "--host", args.host, "--port", args.port], env=env),
                subprocess.Popen(flask + ["scheduler", "run"], env=env)]
    for stopping in (signal.SIGINT, signal.SIGTERM):    # SIGINT too: a shell may start us with it ignored
        signal.signal(stopping, _interrupt)
    try:
        os.wait()           # until the first of them ends
    except KeyboardInterrupt:
        pass
    finally:
        _stop(children)
    return 0


def _stop(children: list[subprocess.Popen]) -> None:
    """SIGTERM to those still running (a terminal's Ctrl-C reached them already), then wait."""
    for child in children:
        if child.poll() is None:
            child.terminate()
    for child in children:
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


if __name__ == "__main__":
    sys.exit(main())
