"""A minimal SSE and HTTP client over raw sockets, so that tests see exactly the bytes the gateway sends."""
import json
import socket
import time


class Stream:
    """One GET /events stream: the status line, the headers, and the events as they come."""

    def __init__(self, port, path="/events", headers=None, timeout=10.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", "Accept: text/event-stream"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.buf = b""
        head = self._until(b"\r\n\r\n", timeout)
        status, *fields = head.decode().split("\r\n")
        self.status = int(status.split()[1])
        self.headers = {k.lower(): v.strip() for k, v in (f.split(":", 1) for f in fields if f)}
        self.raw = b""  # every byte of the body so far

    def _until(self, marker, timeout):
        deadline = time.time() + timeout
        while marker not in self.buf:
            self.sock.settimeout(max(0.01, deadline - time.time()))
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("stream closed")
            self.buf += chunk
            if time.time() > deadline:
                raise TimeoutError(f"no {marker!r} within {timeout}s")
        head, _, self.buf = self.buf.partition(marker)
        return head

    def next_block(self, timeout=10.0):
        """The next block (event, retry line or comment) up to its blank line, parsed."""
        block = self._until(b"\n\n", timeout)
        self.raw += block + b"\n\n"
        fields = {"comments": []}
        for line in block.decode().split("\n"):
            if line.startswith(":"):
                fields["comments"].append(line[1:].strip())
                continue
            key, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            fields.setdefault(key, [])
            fields[key].append(value)
        return fields

    def next_event(self, timeout=10.0, kinds=None):
        """The next event (skipping retry lines and comments), as (id, kind, data)."""
        deadline = time.time() + timeout
        while True:
            b = self.next_block(max(0.01, deadline - time.time()))
            if "event" in b or "data" in b:
                kind = b.get("event", ["message"])[0]
                if kinds and kind not in kinds:
                    continue
                return int(b["id"][0]), kind, json.loads("\n".join(b["data"]))

    def closed(self, timeout=5.0):
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1) == b""
        except (ConnectionResetError, socket.timeout):
            return False

    def close(self):
        self.sock.close()


def request(port, method, path, body=b"", headers=None, timeout=10.0, content_length=None):
    """One HTTP/1.1 request on its own connection: (status, headers, body). `content_length` declares a
    length other than the body's (to test limits without sending the bytes)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    length = len(body) if content_length is None else content_length
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close", f"Content-Length: {length}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    sock.close()
    head, _, rest = data.partition(b"\r\n\r\n")
    status, *fields = head.decode().split("\r\n")
    return int(status.split()[1]), {k.lower(): v.strip() for k, v in (f.split(":", 1) for f in fields)}, rest


def publish(port, token, events):
    """POST /publish with (id, kind, data) events as NDJSON."""
    body = "".join(json.dumps({"id": i, "kind": k, "data": d}) + "\n" for i, k, d in events).encode()
    return request(port, "POST", "/publish", body, {"Authorization": f"Bearer {token}",
                                                   "Content-Type": "application/x-ndjson"})
