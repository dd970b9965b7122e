"""Telemetry lines for bench/telemetry.sh: `N` lines with 1 % malformed
(not JSON, no timestamp, binary junk, a bad timestamp), or `--rate R`: R
lines per second to stdout until killed."""
import json
import random
import sys
import time

SERVICES = ["aidb", "hybrid", "embeddings", "ralph"]
EVENTS = ["tool_call", "query", "embed", "search"]
BAD = ['not json', '{"event":"x"}', '\x00\x01junk', '{"ts":"yesterday"}']


def line(rng, i, t):
    if i % 100 == 99:
        return rng.choice(BAD)
    return json.dumps({
        "timestamp": round(t, 3), "event": rng.choice(EVENTS), "service": rng.choice(SERVICES),
        "latency_ms": round(rng.expovariate(1 / 40), 2),
        "status": "error" if rng.random() < 0.03 else "ok", "request_id": "%08x" % rng.getrandbits(32),
    })


def main():
    rng = random.Random(1)
    out = sys.stdout
    if sys.argv[1] == "--rate":
        rate = int(sys.argv[2])
        i = 0
        while True:
            start = time.time()
            out.write("".join(line(rng, i + k, start) + "\n" for k in range(rate // 10)))
            out.flush()
            i += rate // 10
            time.sleep(max(0.0, 0.1 - (time.time() - start)))
    n = int(sys.argv[1])
    t = time.time() - n / 1000
    chunk = []
    for i in range(n):
        chunk.append(line(rng, i, t + i / 1000))
        if len(chunk) == 10000:
            out.write("\n".join(chunk) + "\n")
            chunk = []
    if chunk:
        out.write("\n".join(chunk) + "\n")


if __name__ == "__main__":
    main()
