"""The ASGI application: the pages (one HTML shell each; static/app.js draws them from the JSON API) and the
API itself. Every handler that reads disk or loads a command runs in a thread, so the event loop only routes
and streams; runs happen in worker processes (serve.jobs)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
from importlib import resources
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from nnlab.core import i18n
from nnlab.core.errors import UserError
from nnlab.serve import guard, index, schema
from nnlab.serve.jobs import ACTIVE, Job, JobQueue, QueueFull

PAGES = {"/": "home", "/commands/{name}": "command", "/runs": "runs", "/runs/{id:path}": "run",
         "/compare": "compare"}
STATIC_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'"
START_WAIT_S = 20.0  # how long POST /api/runs waits for a started worker to name its run directory
EVENT_POLL_S = 0.25  # seconds between two looks at a run in progress
FAVICON = (b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">'
           b'<circle cx="8" cy="8" r="7" fill="#1f77b4"/></svg>')
# The shell's own words (the rest of the page's are static/words.js's WORDS): `?lang=zh` or English.
SHELL_WORDS = {"en": {"html": "en", "title": "nnlab lab", "lecture": "Lecture", "runs": "Runs", "loading": "Loading…",
                      "other": "zh", "switch": "中文"},
               "zh": {"html": "zh-CN", "title": "nnlab 实验室", "lecture": "讲义", "runs": "运行", "loading": "加载中…",
                      "other": "en", "switch": "English"}}
SHELL = """<!doctype html>
<html lang="{html}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/static/style.css"></head>
<body data-page="{page}" data-lang="{lang}"><header><a href="/{suffix}" class="brand">{title}</a><nav>
<a href="/{suffix}">{lecture}</a> <a href="/runs{suffix}">{runs}</a></nav>
<a id="lang-switch" href="?lang={other}" hreflang="{other}" lang="{other}">{switch}</a></header>
<main id="app"><p class="muted">{loading}</p></main>
<script src="/static/words.js"></script><script src="/static/chart.js"></script>
<script src="/static/app.js"></script></body></html>"""


def shell(page: str, lang: str) -> str:
    """A page's HTML in `lang` (en or zh): its links keep `?lang=zh`, the switch names the other language."""
    return SHELL.format(page=page, lang=lang, suffix="?lang=zh" if lang == "zh" else "", **SHELL_WORDS[lang])


def error(message: str, status: int = 422) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def language(request: Request) -> str | None:
    """The request's `?lang=` (absent or empty: en), or None for one that is neither en nor zh."""
    lang = request.query_params.get("lang") or "en"
    return lang if lang in i18n.LANGS else None


def speaks(handler: Any) -> Any:
    """An API handler that answers in `?lang=` (en, zh; else 400): the language for this request alone (the
    requests of other languages run meanwhile), which the threads it starts by run_in_threadpool inherit."""
    async def answer(request: Request) -> Response:
        lang = language(request)
        if lang is None:
            given = request.query_params.get("lang")
            return error(f"lang: expected one of {', '.join(i18n.LANGS)}, got {given!r}", 400)
        request.state.lang = lang
        with i18n.using(lang, children=False):
            return await handler(request)

    answer.__name__ = handler.__name__
    return answer


async def json_body(request: Request) -> Any:
    """The request's JSON body, or the error Response for one that is too large (413) or not JSON (400)."""
    try:
        return await guard.read_json(request)
    except guard.TooLarge:
        return error(f"the request body is over {guard.MAX_BODY} bytes", 413)
    except (ValueError, UnicodeDecodeError):
        return error("the request body is not JSON", 400)


def create_app(out: str | Path, workers: int, token: str | None = None, launcher: list[str] | None = None,
               draw: bool = True) -> Any:
    """The lab over the runs in `out`; at most `workers` runs at once. `launcher` is the worker's argv before
    the command (default `python -m nnlab`); `token` None answers only loopback Host headers."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    out = out.resolve()  # absolute: core.run_files reads a relative path as relative to the run directory
    jobs = JobQueue(out, workers, launcher, draw=draw)
    runs = index.RunIndex(out)
    static_dir = resources.files("nnlab.serve") / "static"
    static = {p.name: p.read_bytes() for p in static_dir.iterdir() if Path(p.name).suffix in STATIC_TYPES}

    async def page(request: Request) -> Response:
        name = PAGES[request.scope["route"].path]  # a bad ?lang= shows in English, and the API says why
        return HTMLResponse(shell(name, language(request) or "en"), headers={"content-security-policy": CSP})

    async def static_file(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in static:
            return error("no such file", 404)
        return Response(static[name], media_type=STATIC_TYPES[Path(name).suffix],
                        headers={"cache-control": "no-cache"})

    async def favicon(request: Request) -> Response:  # asked for by pages that name none (a served report)
        return Response(FAVICON, media_type="image/svg+xml", headers={"cache-control": "max-age=86400"})

    async def commands(request: Request) -> Response:
        return JSONResponse({"commands": await run_in_threadpool(schema.all_schemas)})

    async def list_runs(request: Request) -> Response:
        q = request.query_params
        try:
            limit, offset = int(q.get("limit", 100)), int(q.get("offset", 0))
        except ValueError:
            return error("limit and offset: whole numbers")
        if not (1 <= limit <= 1000 and offset >= 0):
            return error("limit: 1 to 1000; offset: 0 or more")
        listed = await run_in_threadpool(runs.page, q.get("command") or None, q.get("status") or None, limit, offset)
        listed["jobs"] = [job_json(j) for j in jobs.active()]
        return JSONResponse(listed)

    async def latest(request: Request) -> Response:
        return JSONResponse({"latest": await run_in_threadpool(runs.latest)})

    def job_json(job: Job) -> dict[str, Any]:
        position = jobs.position(job)
        with jobs.lock:  # its watcher thread appends output lines meanwhile
            return {**job.as_dict(position), "events": f"/api/jobs/{job.id}/events"}

    async def start_run(request: Request) -> Response:
        body = await json_body(request)
        if isinstance(body, Response):
            return body
        if not isinstance(body, dict) or not isinstance(body.get("command"), str):
            return error('expected {"command": NAME, "config": {...}, "quick": false}')
        unknown = set(body) - {"command", "config", "quick"}
        if unknown:
            return error(f"unknown field(s) {', '.join(sorted(map(str, unknown)))}; fields: command, config, quick")
        try:
            opts, _ = await run_in_threadpool(schema.validate, body["command"], body.get("config"),
                                              body.get("quick", False))
        except UserError as exc:
            return error(str(exc))
        try:
            lang = request.state.lang  # the run draws its figures in the page's language (its cli says so)
            args = [*opts.args, "--lang=zh"] if lang == "zh" else opts.args
            job = jobs.submit(body["command"], args, schema.command_line(body["command"], args), lang=lang)
        except QueueFull as exc:
            return error(str(exc), 503)
        if job.status != "queued":  # started: its id is the run directory, named within a few seconds
            await run_in_threadpool(jobs.wait_for, job, lambda j: j.run_id is not None or j.status not in ACTIVE,
                                    START_WAIT_S)
        return JSONResponse(job_json(job), status_code=202)

    async def one_job(request: Request) -> Response:
        job = jobs.jobs.get(request.path_params["job"])
        if job is None:
            return error("no such job", 404)
        if request.method == "DELETE":
            await run_in_threadpool(jobs.cancel, job)
            await run_in_threadpool(jobs.wait_for, job, lambda j: j.status not in ACTIVE, 30.0)
        return JSONResponse(job_json(job))

    def run_path(request: Request) -> tuple[str, Path]:
        run_id = request.path_params["id"]
        return run_id, runs.run_dir(run_id)

    async def one_run(request: Request) -> Response:
        try:
            run_id, path = run_path(request)
        except UserError as exc:
            return error(str(exc), 404)
        try:
            record = await run_in_threadpool(index.run_json, out, run_id, path)
        except UserError as exc:  # a damaged run: one line naming the file and the field
            return error(str(exc), 422)
        job = jobs.find_run(run_id)
        record["job"] = job_json(job) if job is not None else None
        return JSONResponse(record)

    async def cancel_run(request: Request) -> Response:
        try:
            run_id, _ = run_path(request)
        except UserError as exc:
            return error(str(exc), 404)
        job = jobs.find_run(run_id)
        if job is None or job.status not in ACTIVE:
            return error(f"{run_id} is not running from this server", 409)
        await run_in_threadpool(jobs.cancel, job)
        await run_in_threadpool(jobs.wait_for, job, lambda j: j.status not in ACTIVE, 30.0)
        return JSONResponse(job_json(job))

    async def run_metrics(request: Request) -> Response:
        from nnlab.core.record import RunRecord

        try:
            _, path = run_path(request)
            metrics = await run_in_threadpool(lambda: RunRecord(path).metrics)
        except UserError as exc:
            return error(str(exc), 404)
        return JSONResponse({"metrics": metrics})

    async def events(request: Request) -> Response:
        """Progress as server-sent events: `progress` while it runs, one `end` with the final status."""
        job = jobs.jobs.get(request.path_params["job"]) if "job" in request.path_params else None
        run_id = None
        if job is None:
            try:
                run_id, _ = run_path(request)
            except UserError as exc:
                return error(str(exc), 404)
            job = jobs.find_run(run_id)
        return StreamingResponse(stream(request, job, run_id), media_type="text/event-stream",
                                 headers={"cache-control": "no-cache", "x-accel-buffering": "no"})

    async def stream(request: Request, job: Job | None, run_id: str | None) -> Any:
        progress = Progress()
        last = None
        while True:
            state = await run_in_threadpool(progress_state, job, run_id, progress)
            ended = state["status"] not in ACTIVE
            if state != last:
                yield f"event: {'end' if ended else 'progress'}\ndata: {json.dumps(state)}\n\n"
                last = state
            else:
                yield ": waiting\n\n"
            if ended or await request.is_disconnected() or jobs.closing:
                return
            await asyncio.sleep(EVENT_POLL_S)

    def progress_state(job: Job | None, run_id: str | None, progress: Progress) -> dict[str, Any]:
        from nnlab.core.record import RunRecord

        run_id = job.run_id if job is not None else run_id
        state: dict[str, Any] = {"job": job.id if job else None, "id": run_id}
        if job is not None:
            state.update(status=job.status, message=job.message, queue_position=jobs.position(job))
        if run_id is not None:
            path = out / run_id
            progress.read(path / "metrics.jsonl")
            state.update(steps=progress.lines, last=progress.last)
            if job is None:
                try:
                    status = RunRecord(path).status
                except UserError as exc:
                    status, state["message"] = "damaged", str(exc)
                state["status"] = "running" if status == "running" else status
        return state

    async def compare(request: Request) -> Response:
        ids = [i for value in request.query_params.getlist("runs") for i in value.split(",") if i]
        if len(ids) < 2:
            return error("compare: give at least two runs (?runs=init/A,init/B)")
        try:
            picked = [(i, runs.run_dir(i)) for i in ids]
            return JSONResponse(await run_in_threadpool(index.compare_json, picked))
        except UserError as exc:
            return error(str(exc))

    async def make_report(request: Request) -> Response:
        import datetime as dt

        from nnlab.core.run import claim_directory

        body = await json_body(request)
        if isinstance(body, Response):
            return body
        ids = body.get("runs") if isinstance(body, dict) else None
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
            return error('expected {"runs": ["init/NAME", ...]}')
        try:
            dirs = [str(runs.run_dir(i)) for i in ids]
        except UserError as exc:
            return error(str(exc))
        target = await run_in_threadpool(claim_directory, out, "report", None, dt.datetime.now().astimezone())
        argv = [*jobs.launcher, "report", *dirs, "--out", str(target), "--lang", request.state.lang]
        done = await run_in_threadpool(lambda: subprocess.run(argv, capture_output=True, text=True, timeout=300,
                                                              env={**os.environ, "PYTHONUNBUFFERED": "1"}))
        if done.returncode != 0:
            lines = (done.stderr or done.stdout).strip().splitlines()
            return error(lines[-1] if lines else f"report failed (exit {done.returncode})")
        return JSONResponse({"url": f"/files/report/{target.name}/report.html", "dir": f"report/{target.name}"})

    async def out_file(request: Request) -> Response:
        try:
            data, kind = await run_in_threadpool(guard.out_file, out, request.path_params["path"])
        except UserError as exc:
            return error(str(exc), 404)
        return Response(data, media_type=kind, headers={"content-security-policy": "default-src 'none'; img-src "
                                                        "data: 'self'; style-src 'unsafe-inline'; sandbox"})

    async def status(request: Request) -> Response:
        return JSONResponse({"workers": jobs.workers, **jobs.counts(), "out": str(out)})

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> Any:
        runs.start_refresher()  # every run read in the background: the runs list answers from what it read
        yield
        await run_in_threadpool(jobs.shutdown)  # Ctrl-C of the server: its running runs end as interrupted

    routes = [Route(path, page) for path in PAGES]
    routes += [
        Route("/static/{name}", static_file),
        Route("/favicon.ico", favicon),
        Route("/api/commands", speaks(commands)),
        Route("/api/status", speaks(status)),
        Route("/api/latest", speaks(latest)),
        Route("/api/runs", speaks(list_runs), methods=["GET"]),
        Route("/api/runs", speaks(start_run), methods=["POST"]),
        Route("/api/jobs/{job}", speaks(one_job), methods=["GET", "DELETE"]),
        Route("/api/jobs/{job}/events", speaks(events)),
        # a run's id is its path under --out (init/<time>, lecture/<time>/init/<time>): the suffixed routes first
        Route("/api/runs/{id:path}/cancel", speaks(cancel_run), methods=["POST"]),
        Route("/api/runs/{id:path}/metrics", speaks(run_metrics)),
        Route("/api/runs/{id:path}/events", speaks(events)),
        Route("/api/runs/{id:path}", speaks(one_run), methods=["GET"]),
        Route("/api/runs/{id:path}", speaks(cancel_run), methods=["DELETE"]),
        Route("/api/compare", speaks(compare)),
        Route("/api/reports", speaks(make_report), methods=["POST"]),
        Route("/files/{path:path}", out_file),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.jobs, app.state.runs = jobs, runs
    wrapped = guard.Guard(app, token)
    wrapped.state = app.state  # tests and the CLI reach the job queue through it
    return wrapped


class Progress:
    """How far a run's metrics.jsonl has grown: lines so far and the last complete one, read incrementally."""

    def __init__(self) -> None:
        self.offset, self.lines, self.last, self.partial = 0, 0, None, b""

    def read(self, path: Path) -> None:
        from nnlab.core import run_files

        if not run_files.is_regular_inside(path.parent, path):  # a link out of the run is not followed
            return
        try:
            with open(path, "rb") as f:
                f.seek(self.offset)
                data = f.read(4 * 2**20)
        except OSError:
            return
        self.offset += len(data)
        chunks = (self.partial + data).split(b"\n")
        self.partial = chunks.pop()
        complete = [c for c in chunks if c.strip()]
        self.lines += len(complete)
        if complete:
            with contextlib.suppress(ValueError):
                self.last = json.loads(complete[-1])
