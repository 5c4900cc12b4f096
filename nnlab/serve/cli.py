"""`nnlab serve`: the lab in the browser, on this machine.

\b
    nnlab serve                     http://127.0.0.1:8000/ over the runs in outputs/
    nnlab serve --port 8123 --open  and open it in the browser
    nnlab serve --host 0.0.0.0      reachable from elsewhere: prints a URL with a token

Pages: the lecture's sections with each command's latest verdicts; a form per command (every option with its
help, default and bounds) that starts a run and shows its progress, numbers, claims and figures; every run
under --out, one run with its metrics as a chart, runs side by side, and the report of any of them.
Runs are the CLI's own (`nnlab <command> ... --out DIR` in a worker process), at most --workers at once.
Needs the `serve` extra: pip install 'nnlab[serve]'.
"""

from __future__ import annotations

import os
import socket

import click

from nnlab.core.errors import UserError


def default_workers() -> int:
    """One run per two cores (a run's torch uses more than one), at least one."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, cores // 2)


CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 110}


@click.command("serve", help=__doc__, context_settings=CONTEXT)
@click.option("--host", default="127.0.0.1", show_default=True,
              help="The address to listen on. Anything but loopback requires the token.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535),
              help="The TCP port (0: any free one, printed).")
@click.option("--out", default="outputs", show_default=True, metavar="DIR",
              help="Where runs are read from and written to: DIR/<command>/<time>/.")
@click.option("--workers", type=click.IntRange(1, 256), default=None, metavar="N",
              help="Runs at once; the rest wait in a queue.  [default: one per two cores, at least 1]")
@click.option("--token", default=None, metavar="TOKEN", help="The token every request must carry (`?token=` once, "
              "then a cookie; or `Authorization: Bearer`).  [default: none on loopback, else a new random one]")
@click.option("--open", "open_browser", is_flag=True, help="Open the home page in the browser.  [default: off]")
@click.option("--debug", is_flag=True, help="Show the full traceback on errors.")
def serve(host: str, port: int, out: str, workers: int | None, token: str | None, open_browser: bool,
          debug: bool) -> None:
    try:
        import uvicorn

        from nnlab.serve.app import create_app
    except ImportError as exc:
        raise UserError(f"nnlab serve needs the serve extra ({exc.name} is missing): pip install 'nnlab[serve]'") \
            from None
    from nnlab.serve.guard import is_loopback, new_token

    if not out:
        raise UserError("--out: give a directory")
    if token is not None and len(token) < 8:
        raise UserError("--token: at least 8 characters")
    if token is None and not is_loopback(host):
        token = new_token()
    try:
        app = create_app(out, workers or default_workers(), token)
    except OSError as exc:
        raise UserError(f"--out {out}: {exc.strerror or exc}") from None
    sock = listening_socket(host, port)  # bound here: a port in use is one line, and port 0's pick is known
    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=3, limit_concurrency=512)
    server = uvicorn.Server(config)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{sock.getsockname()[1]}/" + (f"?token={token}" if token else "")
    # connections made from now on wait in the socket's backlog until uvicorn accepts them
    click.echo(f"nnlab lab: {url}  (runs in {out}, {app.state.jobs.workers} at once; Ctrl-C stops)", err=True)
    if open_browser:
        import webbrowser

        webbrowser.open(url)
    server.run(sockets=[sock])


def listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise UserError(f"--host {host} --port {port}: cannot listen there ({exc.strerror or exc})") from None
    sock.listen(128)
    return sock
