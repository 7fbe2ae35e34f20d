"""demo-python: a small Python service with in-memory state, for the Python attach path."""
import http.server
import json
import threading
import time

state = {"request_count": 0, "ticks": 0, "recent": []}


def tick():
    while True:
        state["ticks"] += 1
        time.sleep(1)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        state["request_count"] += 1
        state["recent"] = (state["recent"] + [self.path])[-20:]
        body = json.dumps(state).encode()
        self.send_response(200 if self.path == "/state" else 404)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


threading.Thread(target=tick, daemon=True).start()
http.server.ThreadingHTTPServer(("0.0.0.0", 8080), Handler).serve_forever()
