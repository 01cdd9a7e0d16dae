"""The HTTP service: a real server on loopback, real requests."""

from __future__ import annotations

import http.client
import json
import signal
import socket
import subprocess
import time
import sys
import threading
from dataclasses import replace

import pytest

from corpora.transforms import disguise
from dedupfilter.filter import OutputFilter
from dedupfilter.server import FilterService, make_server

from .conftest import INDEXED, functions_with_tokens


@pytest.fixture(scope="module")
def service(built):
    _, index = built
    service = FilterService(index, max_bytes=1 << 20)
    service.warm()
    server = make_server(service, "127.0.0.1", 0, quiet=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield service, server.server_address[1]
    server.shutdown()
    server.server_close()


def request(port: int, method: str, path: str, body=None, headers=None) -> tuple[int, str, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request(method, path, body=body, headers=headers or {}, encode_chunked=not isinstance(body, bytes)
                       and body is not None)
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, response.getheader("Content-Type", ""), data


def post_json(port: int, path: str, payload) -> tuple[int, dict]:
    status, _, data = request(port, "POST", path, json.dumps(payload).encode(), {"Content-Type": "application/json"})
    return status, json.loads(data)


@pytest.fixture(scope="module")
def copy_and_unrelated(protected_docs, stdlib_docs):
    module, function = next(functions_with_tokens(protected_docs[:INDEXED], 120))
    answer = (f"Here is a helper you can use.\n\n```python\n{disguise(function.text)}```\n\n"
              "Call it with your data; it returns the result described above.\n")
    indexed = {d.doc_id for d in protected_docs}
    unrelated = next(d for d in stdlib_docs if d.doc_id not in indexed and len(d.text) > 3000).text[:3000]
    return module.doc_id, answer, unrelated


def test_health_names_the_index(service):
    svc, port = service
    status, kind, data = request(port, "GET", "/health")
    body = json.loads(data)
    assert status == 200 and kind == "application/json"
    assert body["status"] == "ok" and body["documents"] == len(svc.index)
    assert body["config"] == svc.index.settings.sketch.fingerprint and body["policy"]["min_match_tokens"] == 30


def test_query_returns_the_verdict_of_the_library(service, copy_and_unrelated):
    svc, port = service
    doc_id, answer, unrelated = copy_and_unrelated
    status, verdict = post_json(port, "/v1/query", {"text": answer})
    assert status == 200 and verdict["action"] == "block"
    assert verdict["matches"][0]["doc_id"] == doc_id and verdict["matches"][0]["spans"]
    assert verdict == json.loads(json.dumps(svc.index.query(answer).to_dict()))
    status, verdict = post_json(port, "/v1/query", {"text": unrelated, "lang": "py", "top": 3})
    assert status == 200 and verdict["action"] == "allow" and len(verdict["matches"]) <= 3


def test_filter_streams_what_the_library_streams(service, copy_and_unrelated):
    """The request body sent in small chunks (one cut inside a multi-byte character): the
    lines that come back are OutputFilter.stream's text and events, the copy redacted."""
    svc, port = service
    doc_id, answer, _ = copy_and_unrelated
    answer = answer.replace("Call it", "Call it — café —")
    data = answer.encode()
    cut = data.index("é".encode()) + 1
    chunks = [data[i:min(i + 37, cut)] for i in range(0, cut, 37)] + [data[cut:cut + 5], data[cut + 5:]]
    status, kind, body = request(port, "POST", "/v1/filter?action=redact", iter(chunks))
    lines = [json.loads(line) for line in body.decode().splitlines()]
    assert status == 200 and kind == "application/x-ndjson"
    expected = list(OutputFilter(svc.index, replace(svc.policy, action="redact")).stream([answer]))
    assert "".join(line["text"] for line in lines if "text" in line) == \
        "".join(item for item in expected if isinstance(item, str))
    events = [line for line in lines if "event" in line]
    assert [e["event"] for e in events] == [item.kind for item in expected if not isinstance(item, str)]
    assert events[-1]["event"] == "end" and events[-1]["verdict"]["matches"][0]["doc_id"] == doc_id
    assert f"[removed: matches protected source {doc_id}]" in "".join(line.get("text", "") for line in lines)
    assert "café" in "".join(line.get("text", "") for line in lines)


def test_filter_block_stops_the_stream_with_a_block_event(service, copy_and_unrelated):
    _, port = service
    doc_id, answer, _ = copy_and_unrelated
    status, _, body = request(port, "POST", "/v1/filter?action=block&lang=markdown", answer.encode())
    lines = [json.loads(line) for line in body.decode().splitlines()]
    assert status == 200 and lines[-1]["event"] == "block"
    assert lines[-1]["verdict"]["matches"][0]["doc_id"] == doc_id
    assert "def " not in "".join(line.get("text", "") for line in lines)


@pytest.mark.parametrize("method,path,body,status,says", [
    ("POST", "/v1/query", b"not json", 400, "not JSON"),
    ("POST", "/v1/query", b'{"txt": "x"}', 400, '"text"'),
    ("POST", "/v1/query", b'{"text": "x", "lang": "cobol"}', 400, "unknown language"),
    ("POST", "/v1/query", b'{"text": "x", "top": 0}', 400, '"top"'),
    ("POST", "/v1/query", b"\xff\xfe", 400, "not JSON"),
    ("POST", "/v1/filter?hold_back=-3", b"x", 400, "hold_back"),
    ("POST", "/v1/filter?action=zap", b"x", 400, "action"),
    ("GET", "/v1/query", None, 405, "POST"),
    ("PUT", "/v1/filter", b"x", 405, "POST"),
    ("GET", "/nowhere", None, 404, "/v1/query"),
    ("POST", "/v1/query", b"[" * 100_000, 400, "not JSON"),
])
def test_bad_requests_get_a_clear_error(service, method, path, body, status, says):
    _, port = service
    got, kind, data = request(port, method, path, body)
    assert got == status and kind == "application/json"
    assert says in json.loads(data)["error"]
    assert request(port, "GET", "/health")[0] == 200  # and the server goes on


@pytest.mark.parametrize("head,status,says", [
    (b"POST /v1/query HTTP/1.1\r\nHost: x\r\n\r\n", 411, "Content-Length"),
    (b"POST /v1/query HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n{", 413, "over 1,048,576 bytes"),
    (b"POST /v1/filter HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400, "malformed chunk"),
    (b"POST /v1/filter HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\n", 400, "malformed chunk"),
    (b"POST /v1/query HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n", 400, "Content-Length"),
    (b"POST /v1/query HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "only chunked"),
])
def test_a_body_without_a_length_too_large_or_malformed_is_refused(service, head, status, says):
    """Refused from the headers, before the body is read (a client still sending gets the answer)."""
    _, port = service
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(head)
        reply = b""
        while b"\r\n\r\n" not in reply or not reply.rstrip().endswith(b"}"):
            piece = s.recv(4096)
            if not piece:
                break
            reply += piece
    assert reply.startswith(b"HTTP/1.1 %d" % status) and says in reply.decode()


def test_a_blocked_stream_reads_no_next_request_from_its_body(service, copy_and_unrelated):
    """A stream blocked before its body ends: the rest of the body is dropped, never read as
    a request (a proxy reusing the connection would otherwise disagree on where requests end)."""
    _, port = service
    _, answer, _ = copy_and_unrelated
    smuggled = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
    body = answer.encode() + b"\n" + smuggled
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(b"POST /v1/filter?action=block HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body)
                  + body)
        reply = b""
        while piece := s.recv(65536):
            reply += piece
    assert reply.count(b"HTTP/1.1 ") == 1 and b'"event": "block"' in reply
    assert b'"status": "ok"' not in reply


def test_an_http_1_0_client_gets_the_lines_unchunked(service, copy_and_unrelated):
    _, port = service
    doc_id, answer, _ = copy_and_unrelated
    body = answer.encode()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(b"POST /v1/filter?action=redact HTTP/1.0\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        reply = b""
        while piece := s.recv(65536):
            reply += piece
    head, _, lines = reply.partition(b"\r\n\r\n")
    assert head.split(b" ")[1] == b"200" and b"chunked" not in head and b"Connection: close" in head
    events = [json.loads(line) for line in lines.decode().splitlines()]
    assert events[-1]["event"] == "end" and events[-1]["verdict"]["matches"][0]["doc_id"] == doc_id


def test_a_stream_over_the_limit_ends_with_an_error_line(service):
    _, port = service
    chunks = iter([b"word " * 50_000] * 6)  # 1.5 MB, the limit 1 MB
    status, _, body = request(port, "POST", "/v1/filter?action=annotate", chunks)
    lines = [json.loads(line) for line in body.decode().splitlines()]
    assert status == 200 and "over 1,048,576 bytes" in lines[-1]["error"]


def _as_from_a_terminal() -> None:
    """SIGINT as a terminal leaves it (a job started in the background by a shell, such as a
    CI script's, ignores it, and so would its children)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_cli_serve_answers_then_stops_on_interrupt(built, tmp_path, stop):
    """Ctrl-C, or a service manager's SIGTERM, stops the server cleanly (exit 0)."""
    path, index = built
    process = subprocess.Popen([sys.executable, "-m", "dedupfilter.cli", "serve", str(path), "--port", "0",
                                "--quiet", "--no-verify"], stderr=subprocess.PIPE, text=True,
                               preexec_fn=_as_from_a_terminal)
    try:
        line = process.stderr.readline()
        assert "serving" in line and f"{len(index):,} protected documents" in line
        port = int(line.split("http://127.0.0.1:")[1].split()[0])
        status, _, data = request(port, "GET", "/health")
        assert status == 200 and json.loads(data)["documents"] == len(index)
        # A client that has not sent its request yet does not hold the server up.
        idle = socket.create_connection(("127.0.0.1", port))
        time.sleep(0.2)  # accepted, its handler waiting for the request line
    finally:
        process.send_signal(stop)
        try:
            assert process.wait(timeout=30) == 0
        except subprocess.TimeoutExpired:
            process.kill()
            pytest.fail(f"serve did not stop on {stop.name}; stderr: {process.stderr.read()[-2000:]}")
    idle.close()


def test_warm_makes_the_lookup_directories_before_the_first_request(built, protected_docs):
    """A warm-up query too short to be a near-duplicate never reaches LSH: warm() makes the
    band directory itself, so the first request does not (about 0.1 s at 1M documents)."""
    from dedupfilter.index import ProtectedIndex

    opened = ProtectedIndex.open(built[0])
    assert opened._band_directory is None
    FilterService(opened).warm()
    assert opened._band_directory is not None and opened._directory is not None
    probe = protected_docs[0].text[:3000]
    assert opened.query(probe).to_dict() == ProtectedIndex.open(built[0]).query(probe).to_dict()
