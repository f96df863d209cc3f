"""A viewer that follows /events like a browser: reconnects with Last-Event-ID when the stream breaks.
follow.py PORT LOG [SECONDS]: writes "id kind" per event to LOG, and the done event's data to LOG.done;
exits 0 once it has seen done, 1 when SECONDS pass first."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sse_client import Stream  # noqa: E402

port, log = int(sys.argv[1]), sys.argv[2]
deadline = time.time() + (float(sys.argv[3]) if len(sys.argv) > 3 else 300)
last = None
with open(log, "w") as out:
    while time.time() < deadline:
        try:
            s = Stream(port, headers={"Last-Event-ID": str(last)} if last is not None else None, timeout=2)
            out.write(f"connected {last}\n")
            out.flush()
            while time.time() < deadline:
                try:
                    i, kind, data = s.next_event(timeout=2)
                except TimeoutError:
                    continue
                last = i
                out.write(f"{i} {kind}\n")
                out.flush()
                if kind == "done" or (kind in ("snapshot", "reset") and data.get("done")):
                    with open(log + ".done", "w") as d:
                        json.dump(data if kind == "done" else data["done"], d)
                    sys.exit(0)
        except (OSError, EOFError):
            time.sleep(0.3)  # the gateway is away: retry, as EventSource does
sys.exit(1)
