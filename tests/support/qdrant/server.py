"""A stand-in for Qdrant's REST API (no Qdrant build can be fetched here),
answering with the JSON shapes of its documented API:

    python3 server.py [--port N] NAME:STATUS:POINTS[:INDEXED] ...

- GET /collections: {"result": {"collections": [{"name": ...}]}, "status": "ok"};
- GET /collections/{name}: result.status (green, yellow, grey, red),
  points_count, indexed_vectors_count, optimizer_status, config; 404 with
  Qdrant's error object for an unknown name;
- GET /healthz: "healthz check passed".

Prints `PORT <n>`, then serves until killed. Standard library only.
"""

import argparse
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

p = argparse.ArgumentParser()
p.add_argument("--port", type=int, default=0)
p.add_argument("collections", nargs="*")
ARGS = p.parse_args()

COLLECTIONS = {}
for spec in ARGS.collections:
    parts = spec.split(":")
    name, status, points = parts[0], parts[1], int(parts[2])
    indexed = int(parts[3]) if len(parts) > 3 else points
    COLLECTIONS[name] = {"status": status, "points": points, "indexed": indexed}


def detail(c: dict) -> dict:
    optimizer = {"error": "Service internal error: segment is broken"} if c["status"] == "red" else "ok"
    return {
        "result": {
            "status": c["status"],
            "optimizer_status": optimizer,
            "indexed_vectors_count": c["indexed"],
            "points_count": c["points"],
            "segments_count": 2,
            "config": {
                "params": {"vectors": {"size": 384, "distance": "Cosine"}, "shard_number": 1},
                "hnsw_config": {"m": 16, "ef_construct": 100},
                "optimizer_config": {"indexing_threshold": 10000},
            },
            "payload_schema": {},
        },
        "status": "ok",
        "time": 0.000021,
    }


class Handler(BaseHTTPRequestHandler):
    def _json(self, status: int, value) -> None:
        body = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        path = self.path.split("?")[0].rstrip("/")
        if path == "/healthz":
            body = b"healthz check passed"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif path == "/collections":
            names = [{"name": n} for n in COLLECTIONS]
            self._json(200, {"result": {"collections": names}, "status": "ok", "time": 0.00001})
        elif path.startswith("/collections/"):
            name = unquote(path[len("/collections/"):])
            if name in COLLECTIONS:
                self._json(200, detail(COLLECTIONS[name]))
            else:
                error = f"Not found: Collection `{name}` doesn't exist!"
                self._json(404, {"status": {"error": error}, "time": 0.00001})
        else:
            self._json(404, {"status": {"error": "Not found"}, "time": 0.0})

    def log_message(self, *_args) -> None:
        pass


def main() -> None:
    httpd = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
    print(f"PORT {httpd.server_address[1]}", flush=True)
    httpd.serve_forever()


if __name__ == "__main__":
    main()
