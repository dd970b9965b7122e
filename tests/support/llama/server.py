"""A stand-in for llama.cpp's `llama-server` (no model weights can be fetched
here): it answers the monitoring endpoints with the JSON shapes documented in
llama.cpp's tools/server/README.md.

    python3 server.py [--port N] [--model PATH | --no-model] [--ctx N]
                      [--slots N] [--busy N] [--metrics] [--tps X]

- GET /health: 200 {"status": "ok"} (also with --no-model: the probe must
  not trust it);
- GET /props: default_generation_settings.n_ctx, total_slots, model_path;
  503 "Loading model" with --no-model;
- GET /v1/models: data[0].id and meta; an empty list with --no-model;
- GET /slots: one object per slot, the first --busy with is_processing;
- GET /metrics: Prometheus text with --metrics, else 501 as llama-server
  answers without --metrics.

Prints `PORT <n>`, then serves until killed. Standard library only.
"""

import argparse
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--model", default="/models/qwen2.5-coder-7b-instruct-q4_k_m.gguf")
    p.add_argument("--no-model", action="store_true")
    p.add_argument("--ctx", type=int, default=8192)
    p.add_argument("--slots", type=int, default=4)
    p.add_argument("--busy", type=int, default=1)
    p.add_argument("--metrics", action="store_true")
    p.add_argument("--tps", type=float, default=42.5)
    return p.parse_args()


ARGS = parse()


def slot(i: int) -> dict:
    busy = i < ARGS.busy
    return {
        "id": i,
        "id_task": 100 + i if busy else -1,
        "n_ctx": ARGS.ctx,
        "speculative": False,
        "is_processing": busy,
        "params": {"n_predict": -1, "temperature": 0.8, "top_k": 40},
        "next_token": {"has_next_token": busy, "has_new_line": False, "n_remain": -1, "n_decoded": 12 if busy else 0},
    }


def props() -> dict:
    return {
        "default_generation_settings": slot(ARGS.slots) | {"id": 0},
        "total_slots": ARGS.slots,
        "model_path": ARGS.model,
        "chat_template": "...",
        "modalities": {"vision": False},
        "build_info": "b0-standin",
        "is_sleeping": False,
    }


def models() -> dict:
    if ARGS.no_model:
        return {"object": "list", "data": []}
    return {
        "object": "list",
        "data": [
            {
                "id": ARGS.model,
                "object": "model",
                "created": 1735142223,
                "owned_by": "llamacpp",
                "meta": {
                    "vocab_type": 2,
                    "n_vocab": 152064,
                    "n_ctx_train": 32768,
                    "n_embd": 3584,
                    "n_params": 7615616512,
                    "size": 4677120000,
                },
            }
        ],
    }


def metrics() -> str:
    busy = min(ARGS.busy, ARGS.slots)
    return (
        "# HELP llamacpp:prompt_tokens_total Number of prompt tokens processed.\n"
        "# TYPE llamacpp:prompt_tokens_total counter\n"
        "llamacpp:prompt_tokens_total 5120\n"
        "# HELP llamacpp:prompt_tokens_seconds Average prompt throughput in tokens/s.\n"
        "# TYPE llamacpp:prompt_tokens_seconds gauge\n"
        "llamacpp:prompt_tokens_seconds 310.25\n"
        "# HELP llamacpp:tokens_predicted_total Number of generation tokens processed.\n"
        "# TYPE llamacpp:tokens_predicted_total counter\n"
        "llamacpp:tokens_predicted_total 2048\n"
        "# HELP llamacpp:predicted_tokens_seconds Average generation throughput in tokens/s.\n"
        "# TYPE llamacpp:predicted_tokens_seconds gauge\n"
        f"llamacpp:predicted_tokens_seconds {ARGS.tps}\n"
        "# HELP llamacpp:requests_processing Number of requests processing.\n"
        "# TYPE llamacpp:requests_processing gauge\n"
        f"llamacpp:requests_processing {busy}\n"
        "# HELP llamacpp:requests_deferred Number of requests deferred.\n"
        "# TYPE llamacpp:requests_deferred gauge\n"
        "llamacpp:requests_deferred 0\n"
    )


class Handler(BaseHTTPRequestHandler):
    def _json(self, status: int, value) -> None:
        self._send(status, json.dumps(value).encode(), "application/json; charset=utf-8")

    def _send(self, status: int, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        path = self.path.split("?")[0]
        loading = {"error": {"code": 503, "message": "Loading model", "type": "unavailable_error"}}
        if path in ("/health", "/v1/health"):
            self._json(200, {"status": "ok"})
        elif path == "/props":
            self._json(503, loading) if ARGS.no_model else self._json(200, props())
        elif path in ("/v1/models", "/models"):
            self._json(200, models())
        elif path == "/slots":
            self._json(503, loading) if ARGS.no_model else self._json(200, [slot(i) for i in range(ARGS.slots)])
        elif path == "/metrics":
            if ARGS.metrics and not ARGS.no_model:
                self._send(200, metrics().encode(), "text/plain; version=0.0.4")
            else:
                error = {"code": 501, "message": "This server does not support metrics endpoint.", "type": "not_supported_error"}
                self._json(501, {"error": error})
        else:
            self._json(404, {"error": {"code": 404, "message": "File Not Found", "type": "not_found_error"}})

    def log_message(self, *_args) -> None:
        pass


def main() -> None:
    httpd = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
    print(f"PORT {httpd.server_address[1]}", flush=True)
    httpd.serve_forever()


if __name__ == "__main__":
    main()
