"""The HTTP layer under stress: stalled and slow clients, long polls, oversized bodies and
malformed framing. Every case over real sockets; answers checked on the wire, the store
checked for no change."""
import http.client
import json
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest
from lxml import etree

from conftest import ROOT, start_server

ENDPOINT = "/bc/rpc/soap/backclickService"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SAVE = ('<?xml version="1.0" encoding="UTF-8"?>'
        f'<soap:Envelope xmlns:soap="{SOAP_ENV}" xmlns:b="http://soap.rpc.bc.backclick.de/">'
        '<soap:Body><b:saveOrCreateSubscriber><b:mandatorId>1</b:mandatorId><b:subscribers>'
        '<b:item><b:subscriberEmail>framing@example.com</b:subscriberEmail>'
        '<b:newsletterListIds><b:item>1</b:item></b:newsletterListIds></b:item></b:subscribers>'
        '</b:saveOrCreateSubscriber>{padding}</soap:Body></soap:Envelope>')
GET = (f'<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="{SOAP_ENV}" '
       'xmlns:b="http://soap.rpc.bc.backclick.de/"><soap:Body><b:getSubscribers>'
       '<b:mandatorId>1</b:mandatorId><b:emailAddresses><b:item>a@example.com</b:item>'
       '</b:emailAddresses></b:getSubscribers></soap:Body></soap:Envelope>').encode()


def save_envelope(padding: int = 0) -> bytes:
    """A valid saveOrCreateSubscriber envelope (framing@example.com), padded by a comment."""
    return SAVE.format(padding=f"<!--{'x' * padding}-->" if padding else "").encode()


def address(server) -> tuple[str, int]:
    """The server's host and port."""
    host, port = server.base_url.split("//")[1].rstrip("/").rsplit(":", 1)
    return host, int(port)


def connect(server, timeout: float = 10) -> socket.socket:
    """A raw TCP connection to the server."""
    sock = socket.create_connection(address(server), timeout=timeout)
    return sock


def read_all(sock: socket.socket, timeout: float = 10) -> bytes:
    """Everything the server sends until it closes the connection."""
    sock.settimeout(timeout)
    out = b""
    while True:
        data = sock.recv(65536)
        if not data:
            return out
        out += data


def exchange(server, data: bytes) -> tuple[str, dict, bytes]:
    """Send raw bytes, read until the server closes; (status line, headers, body)."""
    with connect(server) as sock:
        sock.sendall(data)
        answer = read_all(sock)
    head, _, body = answer.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    assert int(headers["content-length"]) == len(body), answer
    return status, headers, body


def fault(status: str, headers: dict, body: bytes) -> str:
    """Assert a SOAP 1.1 soap:Client fault answer closing the connection; its faultstring."""
    assert status == "HTTP/1.1 500 Internal Server Error", (status, body)
    assert headers["content-type"] == "text/xml; charset=utf-8"
    assert headers["connection"] == "close"
    root = etree.fromstring(body)
    assert root.tag == f"{{{SOAP_ENV}}}Envelope"
    (node,) = root.iterfind(f"{{{SOAP_ENV}}}Body/{{{SOAP_ENV}}}Fault")
    assert node.findtext("faultcode") == "soap:Client"
    message = node.findtext("faultstring")
    assert message
    return message


def json_error(status: str, headers: dict, body: bytes, code: int) -> str:
    """Assert a JSON error answer with HTTP ``code`` closing the connection; its message."""
    assert status.startswith(f"HTTP/1.1 {code} "), (status, body)
    assert headers["content-type"] == "application/json; charset=utf-8"
    assert headers["connection"] == "close"
    return json.loads(body)["error"]


def timed(call):
    """(seconds taken, result) of ``call()``."""
    started = time.monotonic()
    result = call()
    return time.monotonic() - started, result


def health(server) -> int:
    """GET /_mock/health on a fresh connection; its status."""
    conn = http.client.HTTPConnection(*address(server), timeout=10)
    try:
        conn.request("GET", "/_mock/health")
        answer = conn.getresponse()
        assert json.loads(answer.read())["status"] == "ok"
        return answer.status
    finally:
        conn.close()


def soap_call(server) -> bytes:
    """A getSubscribers call on a fresh connection; the answer's body (HTTP 200)."""
    conn = http.client.HTTPConnection(*address(server), timeout=10)
    try:
        conn.request("POST", ENDPOINT, GET, {"Content-Type": "text/xml; charset=utf-8"})
        answer = conn.getresponse()
        body = answer.read()
        assert answer.status == 200, body
        return body
    finally:
        conn.close()


def subscribers(server) -> int:
    """How many subscribers the store holds."""
    return server.rows("SELECT count(*) AS n FROM subscribers")[0]["n"]


def journaled(server) -> int:
    """How many exchanges the journal lists."""
    return server.json("_mock/journal?limit=1000")["count"]


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """A server with a 2 s read timeout."""
    running = start_server(tmp_path_factory.mktemp("quick"), "--read-timeout", "2")
    yield running
    running.stop()


# -- 1. slow and stalled clients ----------------------------------------------------------------

def stall(server, count: int) -> list[socket.socket]:
    """``count`` connections that each send part of a request, then nothing: most headers
    with Content-Length 1000 and 10 bytes of body, every fourth a partial header block."""
    host, port = address(server)
    sockets = []
    for n in range(count):
        sock = socket.create_connection((host, port), timeout=10)
        if n % 4 == 3:
            sock.sendall(f"POST {ENDPOINT} HTTP/1.1\r\nHost: {host}\r\nContent-Ty".encode())
        else:
            sock.sendall(f"POST {ENDPOINT} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                         f"Content-Type: text/xml; charset=utf-8\r\nContent-Length: 1000\r\n"
                         f"\r\n".encode() + b"<soap:Env ")
        sockets.append(sock)
    return sockets


def test_stalled_clients_leave_the_server_answering(quick):
    soap_call(quick)  # the dialect is built
    before = subscribers(quick)
    stalled = stall(quick, 64)
    try:
        time.sleep(0.3)  # every stalled request is in
        seconds, status = timed(lambda: health(quick))
        assert status == 200 and seconds < 1, seconds
        seconds, body = timed(lambda: soap_call(quick))
        assert b"getSubscribersResponse" in body and seconds < 1, seconds
        # the read timeout (2 s) passes: each stalled connection is answered and closed
        started = time.monotonic()
        for sock in stalled:
            answer = read_all(sock, timeout=10)
            head, _, body = answer.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 500 "), answer
            assert b"The request did not arrive within 2 s" in body, answer
        assert time.monotonic() - started < 2 + 3
    finally:
        for sock in stalled:
            sock.close()
    assert subscribers(quick) == before
    assert health(quick) == 200


def test_a_fresh_connection_that_sends_nothing_is_closed_after_the_read_timeout(quick):
    with connect(quick) as sock:
        seconds, answer = timed(lambda: read_all(sock, timeout=10))
    assert answer == b"" and 1.5 < seconds < 2 + 3, seconds


def test_a_slow_but_steady_request_is_served_within_the_read_timeout(quick):
    body = save_envelope()
    host, port = address(quick)
    head = (f"POST {ENDPOINT} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: text/xml; "
            f"charset=utf-8\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    with connect(quick) as sock:
        for piece in (head[:20], head[20:], body[:100], body[100:]):
            sock.sendall(piece)
            time.sleep(0.2)
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 200 OK") and b"saveOrCreateSubscriberResponse" in answer
    assert quick.rows("SELECT email FROM subscribers WHERE email_key='framing@example.com'")


def test_a_client_that_takes_no_answer_is_dropped(tmp_path):
    running = start_server(tmp_path, "--read-timeout", "2", "--threads", "1")
    try:
        host, port = address(running)
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect((host, port))
        request = (f"GET {ENDPOINT}?wsdl HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n").encode()
        sock.sendall(request * 400)  # 400 WSDLs of 30 KB pipelined, none of them read
        time.sleep(1)
        # the only thread is stuck sending until the read timeout gives up on the client
        seconds, status = timed(lambda: health(running))
        assert status == 200 and seconds < 2 + 4, seconds
        sock.setblocking(False)
        with pytest.raises((ConnectionError, BlockingIOError)):
            while sock.recv(1 << 20):  # what the server sent, then the connection is gone
                pass
        sock.close()
        seconds, status = timed(lambda: health(running))
        assert status == 200 and seconds < 1
    finally:
        running.stop()


def test_keep_alive_and_pipelining(quick):
    host, port = address(quick)
    one = (f"POST {ENDPOINT} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: text/xml\r\n"
           f"Content-Length: {len(GET)}\r\n\r\n").encode() + GET
    chunked = (f"POST {ENDPOINT} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: text/xml\r\n"
               f"Transfer-Encoding: chunked\r\n\r\n{len(GET[:50]):x}\r\n").encode() + \
        GET[:50] + f"\r\n{len(GET[50:]):x}\r\n".encode() + GET[50:] + b"\r\n0\r\n\r\n"
    last = f"GET /_mock/health HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n"
    with connect(quick) as sock:
        data = one + chunked + one + last.encode()
        sock.sendall(data[:len(one) + 30])  # the second request arrives in two parts
        time.sleep(0.2)
        sock.sendall(data[len(one) + 30:])
        answer = read_all(sock)
    assert answer.count(b"HTTP/1.1 200 OK") == 4, answer
    assert answer.count(b"getSubscribersResponse") == 2 * 3  # opening and closing tags
    assert answer.endswith(b"}\n")
    conn = http.client.HTTPConnection(host, port, timeout=10)  # keep-alive: one connection
    for _ in range(5):
        conn.request("POST", ENDPOINT, GET, {"Content-Type": "text/xml"})
        answer = conn.getresponse()
        assert answer.status == 200 and b"getSubscribersResponse" in answer.read()
    conn.close()


def test_expect_100_continue(quick):
    host, port = address(quick)
    with connect(quick) as sock:
        sock.sendall((f"POST {ENDPOINT} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: text/xml"
                      f"\r\nContent-Length: {len(GET)}\r\nExpect: 100-continue\r\n"
                      f"Connection: close\r\n\r\n").encode())
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(GET)
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 200 OK") and b"getSubscribersResponse" in answer
    assert b"100 Continue" not in answer


def test_the_read_timeout_comes_from_the_environment_and_is_checked(tmp_path):
    running = start_server(tmp_path, env={"MOCKSERVER_READ_TIMEOUT": "1"})
    try:
        with connect(running) as sock:
            sock.sendall(f"POST {ENDPOINT} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode())
            seconds, answer = timed(lambda: read_all(sock, timeout=10))
        assert b"The request did not arrive within 1 s" in answer and seconds < 1 + 3
    finally:
        running.stop()
    done = subprocess.run([sys.executable, "-m", "mockserver", "serve", "--read-timeout", "0"],
                          cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert done.returncode == 1
    assert "--read-timeout takes a positive number of seconds, got 0" in done.stderr


def test_a_graceful_stop_does_not_wait_for_stalled_clients_or_long_polls(tmp_path):
    running = start_server(tmp_path)
    stalled = stall(running, 8)
    answers = []

    def poll():
        try:
            urllib.request.urlopen(running.base_url + "_mock/outbox/wait?timeout=60", timeout=30)
        except urllib.error.HTTPError as error:
            answers.append((error.code, json.loads(error.read())))

    waiting = threading.Thread(target=poll)
    waiting.start()
    time.sleep(0.5)
    running.process.send_signal(signal.SIGTERM)
    seconds, status = timed(lambda: running.process.wait(20))
    waiting.join(20)
    for sock in stalled:
        sock.close()
    assert status == 0 and seconds < 4, seconds
    assert answers == [(503, {"error": "mockserver is stopping; no matching mail arrived "
                                       "before."})]


# -- 2. long polls ------------------------------------------------------------------------------

def test_long_polls_leave_the_threads_to_soap_calls(tmp_path):
    running = start_server(tmp_path, "--threads", "2")
    try:
        soap_call(running)
        answers: list = []

        def poll():
            try:
                with urllib.request.urlopen(running.base_url + "_mock/outbox/wait?to=nobody"
                                            "@example.com&timeout=4", timeout=20) as reply:
                    answers.append((reply.status, json.loads(reply.read())))
            except urllib.error.HTTPError as error:
                answers.append((error.code, json.loads(error.read())))

        polls = [threading.Thread(target=poll) for _ in range(3 * 2)]
        for thread in polls:
            thread.start()
        time.sleep(0.5)
        seconds, status = timed(lambda: health(running))
        assert status == 200 and seconds < 1, seconds
        seconds, body = timed(lambda: soap_call(running))
        assert b"getSubscribersResponse" in body and seconds < 1, seconds
        refused = [a for a in answers if a[0] == 503]
        assert len(refused) == 4, answers  # at once: two wait, as many as --threads
        assert "Too many long polls at once" in refused[0][1]["error"]
        assert "--threads" in refused[0][1]["error"]
        for thread in polls:
            thread.join(20)
        waited = [a for a in answers if a[0] != 503]
        assert [a[0] for a in waited] == [408, 408], answers
        assert "No matching mail arrived within 4 s" in waited[0][1]["error"]
    finally:
        running.stop()


# -- 3. oversized bodies ------------------------------------------------------------------------

@pytest.mark.parametrize("args, limit", [((), 10 * 1024 * 1024),
                                         (("--max-body", "100000"), 100000)])
def test_an_oversized_body_gets_a_fault_the_sender_can_read(tmp_path, args, limit):
    running = start_server(tmp_path, *args, "--read-timeout", "5")
    try:
        before, calls = subscribers(running), journaled(running)
        body = save_envelope(padding=11 * 1024 * 1024)
        request = urllib.request.Request(running.backclick_url, data=body, method="POST",
                                         headers={"Content-Type": "text/xml; charset=utf-8"})
        with pytest.raises(urllib.error.HTTPError) as raised:
            urllib.request.urlopen(request, timeout=30)
        error = raised.value
        assert error.code == 500 and error.headers["Content-Type"] == "text/xml; charset=utf-8"
        assert error.headers["Connection"] == "close"
        message = fault("HTTP/1.1 500 Internal Server Error",
                        {k.lower(): v for k, v in error.headers.items()}, error.read())
        assert message == f"Request body of {len(body)} bytes exceeds the limit of {limit} bytes."
        assert subscribers(running) == before
        assert journaled(running) == calls  # refused before the application: not journaled
        assert health(running) == 200
    finally:
        running.stop()


def test_an_oversized_body_announced_with_expect_100_continue_is_refused_at_once(quick):
    before = subscribers(quick)
    with connect(quick) as sock:
        sock.sendall((f"POST {ENDPOINT} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml"
                      f"\r\nContent-Length: 20000000\r\nExpect: 100-continue\r\n\r\n").encode())
        seconds, answer = timed(lambda: read_all(sock))
    assert seconds < 1 and answer.startswith(b"HTTP/1.1 500 "), answer
    assert b"100 Continue" not in answer
    assert b"Request body of 20000000 bytes exceeds the limit of 10485760 bytes." in answer
    assert subscribers(quick) == before


def test_an_oversized_chunked_body_gets_a_fault(tmp_path):
    running = start_server(tmp_path, "--max-body", "100000", "--read-timeout", "5")
    try:
        before = subscribers(running)
        body = save_envelope(padding=300_000)
        conn = http.client.HTTPConnection(*address(running), timeout=30)
        pieces = (body[i:i + 8192] for i in range(0, len(body), 8192))
        conn.request("POST", ENDPOINT, pieces, {"Content-Type": "text/xml; charset=utf-8"},
                     encode_chunked=True)
        answer = conn.getresponse()
        message = fault(f"HTTP/1.1 {answer.status} {answer.reason}",
                        {k.lower(): v for k, v in answer.getheaders()}, answer.read())
        assert message == "Request body exceeds the limit of 100000 bytes."
        conn.close()
        assert subscribers(running) == before
        # on the admin API: JSON, 413
        conn = http.client.HTTPConnection(*address(running), timeout=30)
        conn.request("POST", "/_mock/seed", b"x" * 200_000, {"Content-Type": "application/json"})
        answer = conn.getresponse()
        assert answer.status == 413 and answer.getheader("Connection") == "close"
        assert json.loads(answer.read())["error"] == \
            "Request body of 200000 bytes exceeds the limit of 100000 bytes."
        conn.close()
    finally:
        running.stop()


# -- 4. HTTP-level errors -----------------------------------------------------------------------

def framed(path: str, body: bytes, *, head: str = "", length: str | None = None,
           chunked: bytes | None = None, line: str | None = None) -> bytes:
    """A request to ``path`` carrying ``body``, framed as the case says."""
    text = line or f"POST {path} HTTP/1.1"
    text += "\r\nHost: 127.0.0.1\r\nContent-Type: text/xml; charset=utf-8\r\n" + head
    if chunked is not None:
        return (text + "Transfer-Encoding: chunked\r\n\r\n").encode() + chunked
    return (text + f"Content-Length: {length if length is not None else len(body)}\r\n"
            "\r\n").encode() + body


BODY = save_envelope()
CASES = {
    "invalid chunk size": (dict(chunked=b"zz\r\n" + BODY + b"\r\n0\r\n\r\n"), 400,
                           "Invalid character in chunk size"),
    "chunk without its terminator": (dict(chunked=f"{len(BODY):x}\r\n".encode() + BODY +
                                          b"XX0\r\n\r\n"), 400, "Expected LF after chunk data"),
    "header line over 8190 bytes": (dict(head=f"X-Long: {'a' * 8200}\r\n"), 431,
                                    "The header field 'X-Long' is longer than 8190 bytes."),
    "too many headers": (dict(head="".join(f"X-H{i}: {i}\r\n" for i in range(101))), 431,
                         "The request has more than 100 header fields."),
    "request line over 8190 bytes": (dict(line=f"POST {{path}}?{'q' * 8200} HTTP/1.1"), 414,
                                     "The request line is longer than 8190 bytes."),
    "negative Content-Length": (dict(length="-5"), 400, "Invalid character in Content-Length"),
    "non-numeric Content-Length": (dict(length="12abc"), 400,
                                   "Invalid character in Content-Length"),
    "Content-Length and Transfer-Encoding": (
        dict(head=f"Content-Length: {len(BODY)}\r\n",
             chunked=f"{len(BODY):x}\r\n".encode() + BODY + b"\r\n0\r\n\r\n"), 400,
        "Transfer-Encoding can't be present with Content-Length"),
    "control character in a header value": (dict(head="X-Note: a\x01b\r\n"), 400,
                                            "Invalid header value char"),
    "control character in a header name": (dict(head="X\x01Note: ab\r\n"), 400,
                                           "Invalid header token"),
    "invalid request line": (dict(line="POST {path} HTTP/1.1 and more"), 400,
                             "Expected CRLF after version"),
    "duplicate Host (gunicorn's parser)": (dict(head="Host: elsewhere\r\n"), 400,
                                           "Invalid HTTP Header: 'HOST'"),
}


def case_bytes(path: str, spec: dict) -> bytes:
    """The malformed request of a case, addressed to ``path``."""
    spec = dict(spec)
    if "line" in spec:
        spec["line"] = spec["line"].replace("{path}", path)
    return framed(path, BODY, **spec)


@pytest.mark.parametrize("case", list(CASES))
def test_http_errors_are_soap_faults_on_soap_paths(shared_server, case):
    spec, _, expected = CASES[case]
    before = subscribers(shared_server)
    message = fault(*exchange(shared_server, case_bytes(ENDPOINT, spec)))
    assert expected in message
    assert subscribers(shared_server) == before
    assert not shared_server.rows(
        "SELECT * FROM subscribers WHERE email_key='framing@example.com'")


@pytest.mark.parametrize("case", list(CASES))
def test_http_errors_are_json_on_admin_paths(shared_server, case):
    spec, status, expected = CASES[case]
    message = json_error(*exchange(shared_server, case_bytes("/_mock/seed", spec)), status)
    assert expected in message
    assert shared_server.json("_mock/health")["status"] == "ok"


@pytest.mark.parametrize("data", [b"HELLO /_mock/seed WORLD\r\n\r\n",
                                  b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"])
def test_an_unreadable_request_line_gets_a_soap_fault(shared_server, data):
    message = fault(*exchange(shared_server, data))
    assert message == "Malformed HTTP request: Invalid method encountered."


def test_a_soap_12_request_gets_a_soap_12_fault(shared_server):
    data = framed(ENDPOINT, BODY, chunked=b"zz\r\n").replace(
        b"text/xml; charset=utf-8", b"application/soap+xml; charset=utf-8")
    status, headers, body = exchange(shared_server, data)
    assert status == "HTTP/1.1 500 Internal Server Error"
    assert headers["content-type"] == "application/soap+xml; charset=utf-8"
    env = "http://www.w3.org/2003/05/soap-envelope"
    fault_node = etree.fromstring(body).find(f"{{{env}}}Body/{{{env}}}Fault")
    assert fault_node.findtext(f"{{{env}}}Code/{{{env}}}Value") == "soap:Sender"
    assert fault_node.findtext(f"{{{env}}}Reason/{{{env}}}Text") == \
        "Malformed HTTP request: Invalid character in chunk size."


def test_a_request_cut_short_gets_a_fault(shared_server):
    host, port = address(shared_server)
    with connect(shared_server) as sock:
        sock.sendall(framed(ENDPOINT, BODY[:50], length=str(len(BODY))))
        sock.shutdown(socket.SHUT_WR)
        answer = read_all(sock)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 500 ")
    assert b"The connection was closed before the request was complete." in body


def test_an_admin_path_in_another_spelling_gets_its_http_error_as_json(server):
    """The framing refusals pick JSON or SOAP after the path is brought to one spelling."""
    import socket
    from urllib.parse import urlsplit
    parts = urlsplit(server.base_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(b"POST //_mock/tenants HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"application/json" in head.lower(), answer
    assert b'"error"' in body
