"""Safe by default. The server binds 127.0.0.1; bound anywhere else it wants a token on every request (printed at
start, as Jupyter does: from `?token=` it is kept in a cookie for the pages). Without a token only a loopback
Host header is answered (a web page elsewhere cannot reach the server by rebinding its own name to 127.0.0.1),
a POST must say `Content-Type: application/json` (a form on another site cannot post one without the
browser asking first, and the server answers no such question), bodies are bounded, and files are served
only from under --out through core.run_files (no `..`, no absolute path, no link out, regular files only).
"""

from __future__ import annotations

import hmac
import json
import secrets
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

MAX_BODY = 64 * 1024  # bytes of a request body: a config is well under 2 kB
COOKIE = "nnlab_token"
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")
FILE_TYPES = {".png": "image/png", ".html": "text/html; charset=utf-8", ".md": "text/markdown; charset=utf-8",
              ".json": "application/json", ".jsonl": "application/x-ndjson", ".yaml": "text/yaml; charset=utf-8"}
FILE_CAP = 64 * 2**20  # bytes of one served file


def new_token() -> str:
    return secrets.token_urlsafe(24)


def is_loopback(host: str) -> bool:
    return host in LOOPBACK or host.startswith("127.")


def host_name(header: str) -> str:
    """The name in a Host header, without its port ("[::1]:8000" -> "[::1]")."""
    if header.startswith("["):
        return header.split("]")[0] + "]"
    return header.rsplit(":", 1)[0]


class TooLarge(Exception):
    pass


async def read_json(request: Any, limit: int = MAX_BODY) -> Any:
    """The request's JSON body, read at most `limit` bytes far (TooLarge past it); ValueError if not JSON."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise TooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise TooLarge
    return json.loads(body.decode("utf-8")) if body else {}


class Guard:
    """ASGI middleware: the token (401 without one, 403 for a wrong one), the Host header, JSON-only POSTs."""

    def __init__(self, app: Any, token: str | None):
        self.app, self.token = app, token

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = host_name(headers.get("host", ""))
        from_query = None
        if self.token is None:
            if not is_loopback(host):
                await self.refuse(send, 403, f"this server answers only on loopback, not Host {host!r}")
                return
        else:
            given = self.supplied(scope, headers)
            from_query = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [None])[0]
            if given is None:
                await self.refuse(send, 401, "a token is needed: open the URL printed when the server started")
                return
            if not hmac.compare_digest(given.encode(), self.token.encode()):
                await self.refuse(send, 403, "wrong token")
                return
        if scope["method"] == "POST" and not headers.get("content-type", "").startswith("application/json"):
            await self.refuse(send, 415, "POST bodies must be JSON (Content-Type: application/json)")
            return
        if from_query:  # keep the token for the pages, so links need not carry it
            async def send_with_cookie(message: dict) -> None:
                if message["type"] == "http.response.start":
                    cookie = f"{COOKIE}={self.token}; Path=/; HttpOnly; SameSite=Strict"
                    message = {**message, "headers": [*message.get("headers", []),
                                                      (b"set-cookie", cookie.encode("latin-1"))]}
                await send(message)

            await self.app(scope, receive, send_with_cookie)
            return
        await self.app(scope, receive, send)

    def supplied(self, scope: dict, headers: dict[str, str]) -> str | None:
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip()
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if query.get("token"):
            return query["token"][0]
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get("cookie", ""))
        except Exception:  # noqa: BLE001 - a malformed cookie header is no token
            return None
        return cookie[COOKIE].value if COOKIE in cookie else None

    @staticmethod
    async def refuse(send: Any, status: int, message: str) -> None:
        body = json.dumps({"error": message}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def out_file(out: Path, relative: str) -> tuple[bytes, str]:
    """The bytes and content type of `relative`, a regular file under `out` (core.run_files refuses the rest)."""
    from nnlab.core import run_files
    from nnlab.core.errors import UserError

    parts = Path(relative).parts
    if not relative or relative.startswith(("/", "\\")) or ".." in parts or "\x00" in relative:
        raise UserError(f"{relative!r}: only files under --out are served")
    kind = FILE_TYPES.get(Path(relative).suffix.lower())
    if kind is None:
        raise UserError(f"{relative!r}: not a kind of file the lab serves")
    return run_files.read_bytes(out, out / relative, FILE_CAP), kind
