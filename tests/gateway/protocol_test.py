"""pi-gateway's HTTP and SSE behaviour, checked with a real client on the wire: protocol_test.py PI_GATEWAY [CASE...]

Each case starts its own gateway and shares nothing with the others; give case names to run only those."""
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sse_client import Stream, publish, request  # noqa: E402

failures = []
CASES = []
token = "t0ken-for-tests"


def case(fn):
    CASES.append(fn)
    return fn


def check(what, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + what + ("" if ok else f": {detail}"))
    if not ok:
        failures.append(what)


def start_gateway(binary, *flags, prefix=()):
    tmp = tempfile.mkdtemp()
    token_file = os.path.join(tmp, "token")
    with open(token_file, "w") as f:
        f.write(token + "\n")
    proc = subprocess.Popen([*prefix, binary, "--listen", "127.0.0.1:0", "--token-file", token_file, *flags],
                            stderr=subprocess.PIPE, text=True)
    for line in proc.stderr:  # a warning may come before the line that names the port
        if found := re.search(r"serving http://[^:]+:(\d+)/", line):
            return proc, int(found.group(1))
    raise RuntimeError("pi-gateway ended without serving")


class Gateway:
    """A pi-gateway on a free port for one case; SIGTERM at the end, its exit code in `rc`."""

    def __init__(self, binary, *flags, prefix=()):
        self.proc, self.port = start_gateway(binary, *flags, prefix=prefix)
        self.rc = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        self.rc = self.proc.wait(timeout=10)
        return False


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def metric(port, name):
    found = re.search(rf"^{name} (\d+)", request(port, "GET", "/metrics")[2].decode(), re.M)
    return int(found.group(1)) if found else None


@case
def stream_headers_and_snapshot(binary):
    with Gateway(binary) as gw:
        s = Stream(gw.port)
        check("stream: 200", s.status == 200, s.status)
        check("stream: Content-Type text/event-stream", s.headers.get("content-type") == "text/event-stream", s.headers)
        check("stream: Cache-Control no-cache", s.headers.get("cache-control") == "no-cache", s.headers)
        check("stream: X-Accel-Buffering no", s.headers.get("x-accel-buffering") == "no", s.headers)
        check("stream: no Content-Length", "content-length" not in s.headers, s.headers)
        check("stream: no compression", "content-encoding" not in s.headers, s.headers)
        first = s.next_block()
        retry = int(first["retry"][0])
        check("stream: opens with retry: in 2000-5000 ms", 2000 <= retry <= 5000, first)
        i, kind, data = s.next_event()
        check("a new stream gets a snapshot of the current state", kind == "snapshot" and data["job"] is None, (kind, data))
        check("the snapshot has an id", i == 0, i)
        s.close()


@case
def publishing_needs_the_token(binary):
    with Gateway(binary) as gw:
        port = gw.port
        status, headers, _ = request(port, "POST", "/publish", b"{}\n")
        check("publish without a token: 401", status == 401, status)
        check("401 names the scheme", "bearer" in headers.get("www-authenticate", "").lower(), headers)
        status, _, _ = publish(port, "wrong-token", [(1, "job", {"series": "x"})])
        check("publish with a wrong token: 403", status == 403, status)
        status, _, body = request(port, "POST", "/publish", b"not json\n", {"Authorization": f"Bearer {token}"})
        check("publish of bad JSON: 400", status == 400, (status, body))
        count = metric(port, "pi_gateway_publish_refused_total")
        check("/metrics counts the refused publishes", count == 2, count)


@case
def events_arrive_in_order_and_framed(binary):
    with Gateway(binary) as gw:
        port = gw.port
        s = Stream(port)
        s.next_event()  # the snapshot
        job = {"series": "leibniz", "digits": None, "terms": 1000, "ranges": 4, "ranks": 1}
        status, _, body = publish(port, token, [(1, "job", job), (2, "estimate", {"terms": 10, "digits": "3.1"}),
                                                (3, "estimate", {"terms": 20, "digits": "3.14"})])
        check("publish with the token: 200, three accepted", status == 200 and json.loads(body)["accepted"] == 3, body)
        got = [s.next_event() for _ in range(3)]
        check("events arrive in order with their ids", [(g[0], g[1]) for g in got] ==
              [(1, "job"), (2, "estimate"), (3, "estimate")], got)
        check("event data round-trips", got[0][2] == job, got[0])
        frames = s.raw.decode().split("\n\n")
        framed = [f for f in frames if f.startswith("id: 1\n")]
        check("a frame is id, event, data lines and a blank line",
              framed and framed[0] == "id: 1\nevent: job\ndata: " + json.dumps(job, separators=(",", ":"), sort_keys=True), framed)
        check("no data line holds a raw newline", all("\r" not in f for f in frames), frames)
        _, _, body = publish(port, token, [(3, "estimate", {"terms": 20, "digits": "3.14"})])
        check("a resend of the current state is ignored", json.loads(body)["accepted"] == 0, body)
        publish(port, token, [(2, "notice", {"text": "late id"})])
        i, kind, _ = s.next_event()
        check("an event with an older id gets the next id: ids only increase", (i, kind) == (4, "notice"), (i, kind))
        count = metric(port, "pi_gateway_events_published_total")
        check("/metrics counts the published events", count == 4, count)
        s.close()


@case
def replay_by_header_and_by_query(binary):
    with Gateway(binary) as gw:
        port = gw.port
        publish(port, token, [(k, "notice", {"text": f"n{k}"}) for k in range(1, 5)])
        r = Stream(port, headers={"Last-Event-ID": "2"})
        r.next_block()
        got = [r.next_event()[0] for _ in range(2)]
        check("Last-Event-ID: 2 replays 3 and 4", got == [3, 4], got)
        q = Stream(port, "/events?lastEventId=3")
        q.next_block()
        check("?lastEventId=3 replays 4", q.next_event()[0] == 4)
        r.close()
        q.close()


@case
def heartbeat(binary):
    with Gateway(binary, "--heartbeat", "0.3") as gw:
        s = Stream(gw.port)
        hb = s.next_block(timeout=2)
        while not hb["comments"]:
            hb = s.next_block(timeout=2)
        check("a heartbeat comment arrives (every 0.3 s here)", hb["comments"] == ["heartbeat"], hb)
        s.close()


@case
def reset_when_the_history_is_gone(binary):
    with Gateway(binary, "--history", "5") as gw:
        port = gw.port
        publish(port, token, [(1, "estimate", {"terms": 20, "digits": "3.14"})])
        publish(port, token, [(10 + k, "notice", {"text": f"n{k}"}) for k in range(8)])
        last = json.loads(request(port, "GET", "/status")[2])["last_id"]
        old = Stream(port, headers={"Last-Event-ID": "2"})
        old.next_block()
        i, kind, data = old.next_event()
        check("history gone: a reset event with the current state", kind == "reset" and i == last and
              data["estimate"]["terms"] == 20, (i, kind, data))
        old.close()
        ahead = Stream(port, headers={"Last-Event-ID": str(last + 100)})
        ahead.next_block()
        check("an id from the future (another gateway run): reset", ahead.next_event()[1] == "reset")
        ahead.close()
        count = metric(port, "pi_gateway_resets_total")
        check("/metrics counts the resets", count == 2, count)


@case
def done_and_status(binary):
    with Gateway(binary) as gw:
        port = gw.port
        s = Stream(port)
        s.next_event()
        publish(port, token, [(100, "done", {"status": "complete", "estimate": "3.14"})])
        i, kind, data = s.next_event(kinds={"done"})
        check("the done event arrives", kind == "done" and data["status"] == "complete", (kind, data))
        status_json = json.loads(request(port, "GET", "/status")[2])
        check("/status holds the done summary", status_json["done"]["status"] == "complete", status_json)
        s.close()


@case
def connection_cap_answered_in_stream(binary):
    with Gateway(binary, "--max-streams", "4") as gw:
        port = gw.port
        streams = [Stream(port) for _ in range(4)]
        for st in streams:
            st.next_event()  # each one is counted once it has its snapshot
        over = Stream(port)
        check("over the cap: still 200 (EventSource would give up otherwise)", over.status == 200, over.status)
        over.next_block()
        i, kind, data = over.next_event()
        check("over the cap: an overload event", kind == "overload" and data["max_streams"] == 4, (kind, data))
        check("over the cap: then the stream is closed", over.closed())
        count = metric(port, "pi_gateway_connections_refused_total")
        check("/metrics counts the refused stream", count == 1, count)
        for st in streams:
            st.close()


@case
def limits_and_endpoints(binary):
    with Gateway(binary) as gw:
        port = gw.port
        status, _, _ = request(port, "POST", "/publish", b"", {"Authorization": f"Bearer {token}"},
                               content_length=2 << 20)
        check("a request body over 1 MiB: 413", status == 413, status)
        status, _, _ = request(port, "GET", "/status", headers={"X-Big": "y" * 10000})
        check("headers over 8 KiB: 431", status == 431, status)
        status, _, body = request(port, "GET", "/healthz")
        check("/healthz", status == 200 and body == b"ok\n", (status, body))
        status, headers, body = request(port, "GET", "/metrics")
        text = body.decode()
        check("/metrics in Prometheus text format", status == 200 and headers["content-type"].startswith("text/plain")
              and "# TYPE pi_gateway_events_published_total counter" in text, text[:300])
        status, headers, body = request(port, "GET", "/")
        check("/ serves the viewer", status == 200 and b"EventSource" not in body and b"viewer.js" in body
              and headers["content-type"].startswith("text/html"), (status, body[:100]))
        status, _, body = request(port, "GET", "/viewer.js")
        check("/viewer.js follows /events", status == 200 and b'new EventSource("/events")' in body, status)
        check("unknown path: 404", request(port, "GET", "/nope")[0] == 404)
        check("wrong method: 405", request(port, "DELETE", "/status")[0] == 405)


@case
def idle_connection_times_out(binary):
    with Gateway(binary, "--request-timeout", "0.5") as gw:
        idle = socket.create_connection(("127.0.0.1", gw.port))
        idle.settimeout(3)
        t0 = time.time()
        gone = idle.recv(1) == b""
        check("an idle non-SSE connection times out (0.5 s here)", gone and time.time() - t0 < 2.5, time.time() - t0)
        idle.close()


@case
def sigterm_stops_with_exit_0(binary):
    with Gateway(binary) as gw:
        s = Stream(gw.port)
        s.next_event()
    check("SIGTERM stops the gateway with exit code 0, a stream open", gw.rc == 0, gw.rc)
    log = gw.proc.stderr.read()
    check("and says so", "[pi-gateway] stopped" in log, log)


@case
def slow_consumer_dropped(binary):
    """A slow consumer is dropped and never stalls the others."""
    with Gateway(binary, "--queue", "64") as gw:
        port = gw.port
        fast = Stream(port)
        slow = Stream(port)
        slow.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        fast.next_block()
        fast.next_event()
        big = "x" * 60000
        sent = received = 0
        for _ in range(40):
            publish(port, token, [(sent + k + 1, "notice", {"text": big}) for k in range(10)])
            sent += 10
            for _ in range(10):
                i, kind, data = fast.next_event(timeout=10)
                received += kind == "notice" and data["text"] == big
        check("the reading stream got all 400 big events", received == 400, received)
        dropped = metric(port, "pi_gateway_streams_dropped_total")
        check("the stream that did not read was dropped", dropped == 1, dropped)
        fast.close()
        slow.close()


@case
def out_of_descriptors(binary):
    """Accepting pauses instead of spinning on the core, says so once, and resumes."""
    with Gateway(binary, "--request-timeout", "60", prefix=["prlimit", "--nofile=100:100"]) as gw:
        port = gw.port
        held = [socket.create_connection(("127.0.0.1", port)) for _ in range(130)]
        time.sleep(1.0)
        cpu0 = cpu_seconds(gw.proc.pid)
        time.sleep(2.0)
        cpu = cpu_seconds(gw.proc.pid) - cpu0
        check("out of descriptors (limit 100, 130 connections): the gateway waits, not spins", cpu < 0.5,
              f"{cpu:.2f} s of CPU in 2 s")
        for s in held:
            s.close()
        time.sleep(0.5)
        status, _, body = request(port, "GET", "/metrics")
        found = re.search(r"^pi_gateway_accept_errors_total (\d+)", body.decode(), re.M)
        check("descriptors free again: it serves, and /metrics counts the failed accepts",
              status == 200 and found and int(found.group(1)) > 0, (status, found and found.group(0)))
    log = gw.proc.stderr.read()
    check("the failed accepts are reported once (at most once a minute), with the cause",
          log.count("cannot accept connections") == 1 and "Too many open files" in log, log)


@case
def hostile_publisher(binary):
    """A token holder can't crash the gateway, forge frames in every stream, or make ids go backwards; HEAD
    /events has no body."""
    with Gateway(binary) as gw:
        port = gw.port
        s = Stream(port)
        s.next_event()  # the snapshot
        auth = {"Authorization": f"Bearer {token}"}
        deep = b'{"id":1,"kind":"notice","data":' + b"[" * 100000 + b"]" * 100000 + b"}\n"
        status, _, body = request(port, "POST", "/publish", deep, auth)
        check("a line nested 100,000 deep: 400", status == 400 and b"nested deeper" in body, (status, body[:200]))
        check("the gateway survives it", request(port, "GET", "/healthz")[0] == 200)
        status, _, body = publish(port, token, [(2, "estimate\nevent: done\ndata: {}", {"x": 1})])
        check("a kind with a newline: 400", status == 400 and b"kind must be" in body, (status, body))
        status, _, body = publish(port, token, [(3, "notice", "a string, not an object")])
        check("data that is not an object: 400", status == 400, (status, body))
        status, _, body = publish(port, token, [(2**64 - 1, "notice", {"text": "x"})])
        check("id 2^64-1: 400", status == 400 and b"not below 2^53" in body, (status, body))
        status, _, _ = publish(port, token, [(5, "notice", {"text": "a"}), (6, "notice", {"text": "b"})])
        got = [s.next_event() for _ in range(2)]
        check("after the refusals, ids go on increasing and nothing forged arrived",
              status == 200 and [(g[0], g[1]) for g in got] == [(5, "notice"), (6, "notice")], got)
        check("no forged frame reached the stream", b"event: done" not in s.raw, s.raw[-300:])
        status, headers, body = request(port, "HEAD", "/events")
        check("HEAD /events: 200, the stream's type, no body",
              status == 200 and headers.get("content-type") == "text/event-stream" and body == b"", (status, headers, body))
        status, headers, body = request(port, "HEAD", "/status")
        check("HEAD /status: headers only", status == 200 and body == b"" and int(headers["content-length"]) > 0,
              (status, headers, body))


@case
def bad_command_lines(binary):
    """One line, exit 2."""
    token_file = os.path.join(tempfile.mkdtemp(), "token")
    with open(token_file, "w") as f:
        f.write("x\n")
    for args, want in [(["--listen", "nonsense", "--token-file", token_file], "--listen 'nonsense' is not accepted"),
                       (["--listen", "127.0.0.1:99999", "--token-file", token_file], "is not accepted"),
                       (["--listen", "127.0.0.1:0", "--token-file", "/nonexistent"], "cannot be read"),
                       (["--listen", "127.0.0.1:0"], "token-file is required"),
                       (["--listen", "127.0.0.1:0", "--token-file", os.path.dirname(token_file)],
                        "is not a regular file"),
                       (["--listen", "127.0.0.1:0", "--token-file", token_file, "--max-streams", "-1"],
                        "--max-streams '-1' is not accepted"),
                       (["--listen", "127.0.0.1:0", "--token-file", token_file, "--history", "0"],
                        "--history '0' is not accepted"),
                       (["--listen", "127.0.0.1:0", "--token-file", token_file, "--queue", "1e9"],
                        "--queue '1e9' is not accepted"),
                       (["--lisen", "127.0.0.1:0"], "unknown option '--lisen': did you mean --listen?"),
                       (["--listen", "127.0.0.1:0", "-p", "1"], "unknown option '-p': options are long")]:
        p = subprocess.run([binary, *args], capture_output=True, text=True, timeout=10)
        check(f"pi-gateway {' '.join(args)}: exit 2, one line", p.returncode == 2 and want in p.stderr
              and p.stderr.count("\n") == 1, (p.returncode, p.stderr))


@case
def usage_help_and_version(binary):
    p = subprocess.run([binary], capture_output=True, text=True, timeout=10)
    check("pi-gateway without arguments: the usage, exit 2", p.returncode == 2
          and p.stderr.startswith("usage: pi-gateway --token-file FILE") and "--help" in p.stderr, (p.returncode, p.stderr))
    p = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=10)
    check("pi-gateway --help: examples and exit codes", p.returncode == 0 and "Examples:" in p.stdout
          and "--publish http://127.0.0.1:8080" in p.stdout and "Exit codes:" in p.stdout, (p.returncode, p.stdout))
    p = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10)
    check("pi-gateway --version: the version and the libraries", p.returncode == 0
          and p.stdout.startswith("pi-gateway ") and all(lib in p.stdout for lib in ("GMP ", "MPFR ", "Boost ")),
          (p.returncode, p.stdout))


def main():
    binary = sys.argv[1]
    chosen = set(sys.argv[2:])
    unknown = chosen - {c.__name__ for c in CASES}
    if unknown:
        sys.exit(f"unknown case(s) {sorted(unknown)}; the cases: {', '.join(c.__name__ for c in CASES)}")
    for c in CASES:
        if chosen and c.__name__ not in chosen:
            continue
        print(f"== {c.__name__}")
        try:
            c(binary)
        except Exception:  # a case that breaks is a failed case; the others still run
            check(f"{c.__name__} ran to its end", False, traceback.format_exc())
    print(f"{len(failures)} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
