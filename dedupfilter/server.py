"""HTTP service: a protected index behind a small JSON API (``dedupfilter serve``).

Endpoints (every response is JSON, or JSON lines for a stream):

- ``GET /health``: ``{"status": "ok", "documents": N, "config": ..., "policy": ...}``.
- ``POST /v1/query``: a finished output, ``{"text": str, "lang": str?, "top": int?}``;
  returns the Verdict of DESIGN.md (``ProtectedIndex.query``, the server's policy).
- ``POST /v1/filter``: a generation stream. The request body is the model's output,
  sent as it is generated (chunked transfer encoding, or a Content-Length body);
  the response is chunked JSON lines, flushed as they come: ``{"text": ...}`` for
  text that is safe to show and ``{"event": ...}`` for events (``FilterEvent``),
  the last one ``end`` (or ``block``). Query parameters ``lang``, ``action`` and
  ``hold_back`` override the server's defaults for this stream.

Errors are ``{"error": message}`` with status 400 (bad JSON, fields or parameters),
404, 405, 411 (a body with no length), or 413 (a body over ``max_bytes``). The
index is opened once and shared by the request threads; numba kernels are
compiled or loaded before the first request is accepted.
"""

from __future__ import annotations

import codecs
import json
import signal
import sys
import time
import traceback
from dataclasses import replace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator
from urllib.parse import parse_qs, urlsplit

from ._kernels.warmup import warm_up
from .filter import OutputFilter
from .normalize.languages import UnknownLanguageError, canonical_language

MAX_BYTES = 16 * 2**20  # the largest request body taken, in bytes
_READ = 65536
# After an error, what is left of a request body is read and dropped (up to this much, for at most
# this long) before the connection closes: closing on unread data resets it, and the client may
# lose the answer that says what was wrong.
_LINGER_BYTES = 4 * 2**20
_LINGER_SECONDS = 2.0


class RequestError(Exception):
    def __init__(self, status: HTTPStatus, message: str):
        super().__init__(message)
        self.status = status


class FilterService:
    """What the request handlers share: the index, the policy, the limits."""

    def __init__(self, index, policy=None, *, max_bytes: int = MAX_BYTES):
        self.index = index
        self.policy = policy or index.policy
        self.max_bytes = max_bytes

    def warm(self) -> None:
        """Compile or load every kernel, and make the index's lookup directories, now."""
        warm_up()
        self.index.prepare()
        self.index.query("def warm_up(x):\n    return x + 1\n", "python")
        self.index.query("A sentence to warm the prose path up before the first request.", "text")

    def health(self) -> dict:
        return {"status": "ok", "documents": len(self.index), "config": self.index.settings.sketch.fingerprint,
                "policy": self.policy.to_dict()}

    def query(self, request: dict) -> dict:
        if not isinstance(request, dict) or not isinstance(request.get("text"), str):
            raise RequestError(HTTPStatus.BAD_REQUEST, 'the body must be a JSON object with a "text" string')
        top = request.get("top", 10)
        if top is not None and (not isinstance(top, int) or isinstance(top, bool) or top < 1):
            raise RequestError(HTTPStatus.BAD_REQUEST, '"top" must be a positive integer or null')
        verdict = self.index.query(request["text"], _language(request.get("lang")), top=top, policy=self.policy)
        return verdict.to_dict()

    def output_filter(self, params: dict[str, list[str]]) -> OutputFilter:
        """The filter for one stream: the server's policy with the request's overrides
        (FilterPolicy and OutputFilter say what is wrong with them)."""
        action, hold_back = _single(params, "action"), _single(params, "hold_back")
        if hold_back is not None and not hold_back.isdigit():
            raise RequestError(HTTPStatus.BAD_REQUEST, "hold_back must be a whole number >= 0")
        try:
            policy = self.policy if action is None else replace(self.policy, action=action)
            return OutputFilter(self.index, policy, hold_back=None if hold_back is None else int(hold_back),
                                lang=_language(_single(params, "lang")))
        except ValueError as err:
            raise RequestError(HTTPStatus.BAD_REQUEST, str(err)) from None


def _single(params: dict[str, list[str]], name: str) -> str | None:
    values = params.get(name)
    return values[-1] if values else None


def _language(lang) -> str | None:
    if lang is None:
        return None
    if not isinstance(lang, str):
        raise RequestError(HTTPStatus.BAD_REQUEST, '"lang" must be a string')
    try:
        return canonical_language(lang)
    except UnknownLanguageError as err:
        raise RequestError(HTTPStatus.BAD_REQUEST, str(err)) from None


class _Handler(BaseHTTPRequestHandler):
    server_version = "dedupfilter"
    protocol_version = "HTTP/1.1"
    timeout = 300  # seconds a connection may sit idle (a stream's model may pause between deltas)
    service: FilterService  # set on the subclass made by make_server
    quiet = False

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        if not self.quiet:
            super().log_message(format, *args)

    # --- routing ------------------------------------------------------------------------

    def do_GET(self):
        self._route("GET")

    def do_POST(self):
        self._route("POST")

    def do_PUT(self):
        self._route("PUT")

    def do_DELETE(self):
        self._route("DELETE")

    def _route(self, method: str) -> None:
        self._body_done = False
        self._headers_sent = False
        path = urlsplit(self.path).path.rstrip("/") or "/"
        routes = {"/health": ("GET", self._health), "/v1/query": ("POST", self._query),
                  "/v1/filter": ("POST", self._filter)}
        try:
            if path not in routes:
                raise RequestError(HTTPStatus.NOT_FOUND, f"no endpoint {path}; see /health, /v1/query, /v1/filter")
            allowed, handle = routes[path]
            if method != allowed:
                raise RequestError(HTTPStatus.METHOD_NOT_ALLOWED, f"{path} takes {allowed}")
            handle()
        except RequestError as err:
            self.close_connection = True  # a body may be left unread
            self._send_json(err.status, {"error": str(err)})
            self._linger()
        except Exception as err:  # a bug: say so, in JSON, rather than drop the connection
            traceback.print_exc(file=sys.stderr)
            self.close_connection = True
            if not self._headers_sent:
                self._send_json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": f"internal error: {err!r}"})
            self._linger()

    # --- endpoints ----------------------------------------------------------------------

    def _health(self) -> None:
        self._send_json(HTTPStatus.OK, self.service.health())

    def _query(self) -> None:
        body = b"".join(self._body())
        try:
            request = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
            raise RequestError(HTTPStatus.BAD_REQUEST, f"the body is not JSON: {err}") from None
        self._send_json(HTTPStatus.OK, self.service.query(request))

    def _filter(self) -> None:
        output_filter = self.service.output_filter(parse_qs(urlsplit(self.path).query))
        session = output_filter.session()
        # Invalid UTF-8 passes through byte for byte, as in `dedupfilter filter`.
        decoder = codecs.getincrementaldecoder("utf-8")(errors="surrogateescape")
        body = self._body()
        first = next(body, b"")  # a body error is still an HTTP error before the stream starts
        # HTTP/1.0 has no chunked encoding: its client reads the lines until the connection closes.
        self._chunked = self.request_version != "HTTP/1.0"
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "application/x-ndjson")
        if self._chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.close_connection = True
            self.send_header("Connection", "close")
        self.end_headers()
        self._headers_sent = True
        try:
            for data in _chain(first, body):
                self._send_items(session.push(decoder.decode(data)))
                if session.stopped:
                    break
            if not session.stopped:
                self._send_items(session.push(decoder.decode(b"", final=True)))
            if not session.stopped:
                self._send_items(session.close())
        except RequestError as err:  # the body broke off or grew too large mid-stream
            self._send_chunk(json.dumps({"error": str(err)}) + "\n")
            self.close_connection = True
        if self._chunked:
            self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        if not self._body_done:  # blocked, or broken off: what is left of the body is no next request
            self.close_connection = True
            self._linger()

    # --- bodies -------------------------------------------------------------------------

    def _body(self) -> Iterator[bytes]:
        """The request body in pieces as they arrive (chunked or Content-Length), at most
        ``max_bytes`` in all."""
        limit, seen = self.service.max_bytes, 0
        encoding = self.headers.get("Transfer-Encoding", "").strip().lower()
        if encoding and encoding != "chunked":
            raise RequestError(HTTPStatus.NOT_IMPLEMENTED, f"Transfer-Encoding {encoding!r}: only chunked is taken")
        if encoding == "chunked":
            pieces = self._chunks()
        elif self.headers.get("Content-Length") is not None:
            try:
                length = int(self.headers["Content-Length"])
            except ValueError:
                length = -1
            if length < 0:
                raise RequestError(HTTPStatus.BAD_REQUEST, "Content-Length is not a whole number") from None
            if length > limit:
                raise RequestError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"the body is over {limit:,} bytes")
            pieces = self._pieces(length, "the body ended before its Content-Length")
        else:
            raise RequestError(HTTPStatus.LENGTH_REQUIRED, "send Content-Length or a chunked body")
        for piece in pieces:
            seen += len(piece)
            if seen > limit:
                raise RequestError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"the body is over {limit:,} bytes")
            yield piece
        self._body_done = True

    def _linger(self) -> None:
        """Read and drop what the client may still be sending of a body (see _LINGER_BYTES)."""
        has_body = "chunked" in self.headers.get("Transfer-Encoding", "").lower() or \
            self.headers.get("Content-Length", "0") not in ("", "0")
        if self._body_done or not has_body:
            return
        self.wfile.flush()
        deadline = time.monotonic() + _LINGER_SECONDS
        try:
            dropped = 0
            while dropped < _LINGER_BYTES and time.monotonic() < deadline:
                self.connection.settimeout(max(deadline - time.monotonic(), 0.01))
                piece = self.rfile.read1(_READ)
                if not piece:
                    break
                dropped += len(piece)
        except OSError:  # the timeout, or the client gone
            pass

    def _pieces(self, length: int, cut_short: str) -> Iterator[bytes]:
        """The next ``length`` bytes of the body, as they arrive."""
        while length > 0:
            piece = self.rfile.read1(min(length, _READ))
            if not piece:
                raise RequestError(HTTPStatus.BAD_REQUEST, cut_short)
            length -= len(piece)
            yield piece

    def _chunks(self) -> Iterator[bytes]:
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                size = -1
            if size < 0:
                raise RequestError(HTTPStatus.BAD_REQUEST, "a malformed chunk in the body")
            if size == 0:
                while self.rfile.readline(1024).strip():  # trailers, then the blank line
                    pass
                return
            yield from self._pieces(size, "the body ended inside a chunk")
            if self.rfile.readline(1024).strip():  # the chunk's closing CRLF
                raise RequestError(HTTPStatus.BAD_REQUEST, "a chunk longer than its size")

    # --- responses ----------------------------------------------------------------------

    def _send_json(self, status: HTTPStatus, payload: dict) -> None:
        data = (json.dumps(payload) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self._headers_sent = True
        self.wfile.write(data)

    def _send_items(self, items) -> None:
        lines = [json.dumps({"text": item.encode("utf-8", "surrogateescape").decode("utf-8", "replace")})
                 if isinstance(item, str) else item.to_json() for item in items]
        if lines:
            self._send_chunk("\n".join(lines) + "\n")

    def _send_chunk(self, text: str) -> None:
        data = text.encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data) if self._chunked else data)
        self.wfile.flush()


def _chain(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    yield from rest


def make_server(service: FilterService, host: str = "127.0.0.1", port: int = 8000,
                quiet: bool = False) -> ThreadingHTTPServer:
    """A threading HTTP server for ``service`` (port 0: any free port; see ``server_address``)."""
    handler = type("Handler", (_Handler,), {"service": service, "quiet": quiet})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def serve(index, policy=None, host: str = "127.0.0.1", port: int = 8000, *, max_bytes: int = MAX_BYTES,
          quiet: bool = False) -> None:
    """Warm up, then serve until interrupted (Ctrl-C, SIGINT) or told to stop (SIGTERM, as
    service managers do)."""
    service = FilterService(index, policy, max_bytes=max_bytes)
    service.warm()
    with make_server(service, host, port, quiet) as server:
        host, port = server.server_address[:2]
        print(f"dedupfilter: serving {len(index):,} protected documents on http://{host}:{port} "
              f"(GET /health, POST /v1/query, POST /v1/filter); Ctrl-C stops", file=sys.stderr, flush=True)
        stop_on_sigterm = signal.signal(signal.SIGTERM, _interrupt)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, stop_on_sigterm)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt
