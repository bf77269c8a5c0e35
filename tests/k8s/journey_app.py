"""The app container of the journey test (test_journey.py): a small HTTP service that keeps its
data in Cairn KV through its pod's cairn-sidecar, as an app in a real pod would through
127.0.0.1:8500.

  GET  /healthz     200 "ok" (the readiness probe and the sidecar's check-http)
  GET  /            the pod's name
  PUT  /kv/<key>    writes the body to KV through the sidecar; answers the sidecar's reply
  GET  /kv/<key>    reads the key through the sidecar (?raw); 404 when it is missing

Environment: LISTEN (host:port, default 0.0.0.0:8080) and CONSUL_HTTP_ADDR (default
127.0.0.1:8500), the variable every Consul client reads. Standard library only.
"""

import http.server
import os
import socket
import urllib.error
import urllib.request

AGENT = "http://" + os.environ.get("CONSUL_HTTP_ADDR", "127.0.0.1:8500")


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        print(self.address_string(), fmt % args, flush=True)

    def reply(self, code, body):
        data = body if isinstance(body, bytes) else body.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def agent(self, method, path, body=None):
        req = urllib.request.Request(AGENT + path, data=body, method=method)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()
        except OSError as e:
            return 502, f"the sidecar at {AGENT} did not answer: {e}".encode()

    def do_GET(self):
        if self.path == "/healthz":
            self.reply(200, "ok")
        elif self.path == "/":
            self.reply(200, socket.gethostname() + " " + os.environ.get("HOSTNAME", ""))
        elif self.path.startswith("/kv/"):
            self.reply(*self.agent("GET", "/v1/kv/" + self.path[4:] + "?raw"))
        else:
            self.reply(404, "not found")

    def do_PUT(self):
        if not self.path.startswith("/kv/"):
            self.reply(404, "not found")
            return
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.reply(*self.agent("PUT", "/v1/kv/" + self.path[4:], body))


def main():
    host, port = os.environ.get("LISTEN", "0.0.0.0:8080").rsplit(":", 1)
    server = http.server.ThreadingHTTPServer((host, int(port)), Handler)
    print(f"serving on {host}:{port}, agent {AGENT}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
