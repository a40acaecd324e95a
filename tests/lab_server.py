"""The JupyterLab server as `make lab` starts it, and the environment a user starts Jupyter from."""

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def unactivated_env() -> dict:
    """This process's environment as a user's shell has it: the virtual environment not activated
    (no VIRTUAL_ENV) and no pandoc on PATH, so that what runs must find pandoc by its own config."""
    bare = os.pathsep.join(d for d in os.environ.get("PATH", "").split(os.pathsep)
                           if d and not (Path(d) / "pandoc").exists())
    return {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"} | {"PATH": bare}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def make_lab(folder: Path, log_path: Path, env: dict, extra_args: str = ""):
    """Start ``make lab`` serving ``folder`` on a free local port with a fresh token, wait until it
    answers (120 s at most), and yield ``(base url, token, log file)``; the server's output goes to
    ``log_path``. The server is stopped on leaving."""
    port, token = _free_port(), secrets.token_hex(16)
    args = f"--no-browser --port={port} --ServerApp.ip=127.0.0.1 --IdentityProvider.token={token} {extra_args}"
    with open(log_path, "w+") as log:
        server = subprocess.Popen(["make", "-s", "lab", f"LAB_DIR={folder}", f"LAB_ARGS={args.strip()}"],
                                  cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    request = urllib.request.Request(f"{base}/api/status",
                                                     headers={"Authorization": f"token {token}"})
                    urllib.request.urlopen(request, timeout=5)
                    break
                except OSError:
                    log.seek(0)
                    assert server.poll() is None, log.read()
                    assert time.monotonic() < deadline, "the server did not start in 120 s"
                    time.sleep(1)
            yield base, token, log
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
