"""The SPARQL endpoint under load: queries/s and latency with concurrent clients on loopback.

    python bench/serve_load.py --events 2000 --clients 8 --requests 2000 --seconds 60

A synthetic decisions file (records of the shape ``hipaa-kg batch`` writes) is served
by ``hipaa-kg serve`` on a free port of 127.0.0.1, its store kept in a temporary
folder. CLIENTS threads then send GET /query requests (urllib, a new connection
each), in turn one of QUERIES, until REQUESTS answers or SECONDS have passed, to:

1. ``hipaa-kg serve`` (the proxy that refuses SERVICE, then Oxigraph);
2. the same, with a query that names the word "service" in a literal, so that the
   proxy parses it with rdflib before passing it on;
3. ``oxigraph serve-read-only`` on the same store, without the proxy, for comparison.

It prints one Markdown table: answers, errors, queries/s, median and p99 latency.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

OUTCOMES = ("permitted", "not-regulated", "authorization-required", "required")
PREFIX = "PREFIX hk: <https://w3id.org/hipaa-kg/> PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
QUERIES = (
    PREFIX + "SELECT ?o (COUNT(?act) AS ?n) WHERE { ?act hk:outcome ?o } GROUP BY ?o",
    PREFIX + 'SELECT ?p WHERE { ?act rdfs:label "e{n}" ; hk:decidedBy/hk:provision ?p }',
    PREFIX + "SELECT ?act ?o WHERE { ?act hk:outcome ?o } LIMIT 50",
)
NAMING_SERVICE = PREFIX + 'SELECT ?act WHERE { ?act hk:outcome ?o FILTER(?o != "service") } LIMIT 50'


def decisions(path: Path, events: int) -> None:
    with open(path, "w", encoding="utf-8") as out:
        for n in range(1, events + 1):
            finding = {"rule": "164.506-c-1", "kind": "Permission", "provisions": ["45-CFR-164.506-c-1"]}
            record = {
                "line": n,
                "id": f"e{n}",
                "decision": OUTCOMES[n % len(OUTCOMES)],
                "asOf": "2026-11-24",
                "explanation": {"findings": [dict(finding, decisive=True)]},
            }
            out.write(json.dumps(record) + "\n")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ask(port: int, query: str) -> None:
    url = f"http://127.0.0.1:{port}/query?" + urllib.parse.urlencode({"query": query})
    request = urllib.request.Request(url, headers={"Accept": "application/sparql-results+json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        json.load(response)


def wait_until_answering(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 180
    while True:
        try:
            ask(port, "SELECT ?s WHERE { ?s ?p ?o } LIMIT 1")
            return
        except (OSError, ValueError):
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the server on port {port} did not start") from None
            time.sleep(0.2)


def load(port: int, queries: tuple[str, ...], clients: int, requests: int, seconds: float) -> dict:
    """Send the queries in turn from CLIENTS threads until REQUESTS answers or SECONDS; the figures."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    sent = iter(range(requests))
    stop = time.monotonic() + seconds

    def client() -> None:
        while time.monotonic() < stop:
            with lock:
                n = next(sent, None)
            if n is None:
                return
            query = queries[n % len(queries)].replace("{n}", str(n % 1000 + 1))
            began = time.perf_counter()
            try:
                ask(port, query)
            except (OSError, ValueError):
                with lock:
                    errors[0] += 1
                continue
            took = time.perf_counter() - began
            with lock:
                latencies.append(took)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    latencies.sort()
    return {
        "answers": len(latencies),
        "errors": errors[0],
        "qps": len(latencies) / wall,
        "p50": statistics.median(latencies) * 1000 if latencies else float("nan"),
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000 if latencies else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=2000, help="per target")
    parser.add_argument("--seconds", type=float, default=60, help="per target, at most")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="serve-load-"))
    running: list[subprocess.Popen] = []
    try:
        decisions(folder / "decisions.jsonl", args.events)
        port = free_port()
        command = [sys.executable, "-m", "reasoner.cli", "serve", "--decisions", str(folder / "decisions.jsonl")]
        serve = subprocess.Popen(
            [*command, "--port", str(port), "--location", str(folder / "kept")], stderr=subprocess.DEVNULL
        )
        running.append(serve)
        wait_until_answering(port, serve)
        direct = free_port()
        oxigraph = shutil.which("oxigraph", path=str(Path(sys.executable).parent)) or "oxigraph"
        bind = ["--bind", f"127.0.0.1:{direct}"]
        plain = subprocess.Popen(
            [oxigraph, "serve-read-only", "--location", str(folder / "kept" / "store"), *bind],
            stderr=subprocess.DEVNULL,
        )
        running.append(plain)
        wait_until_answering(direct, plain)
        rows = [
            ("hipaa-kg serve (proxy, then Oxigraph)", load(port, QUERIES, args.clients, args.requests, args.seconds)),
            (
                'hipaa-kg serve, a query naming "service" (parsed by rdflib)',
                load(port, (NAMING_SERVICE,), args.clients, args.requests, args.seconds),
            ),
            ("oxigraph serve-read-only alone", load(direct, QUERIES, args.clients, args.requests, args.seconds)),
        ]
    finally:
        for process in running:
            process.terminate()
            process.wait()
        shutil.rmtree(folder, ignore_errors=True)
    print(
        f"{platform.machine()}, {platform.python_version()}, {args.events} events,"
        f" {args.clients} clients, at most {args.requests} requests or {args.seconds:g} s per target\n"
    )
    print("| target | answers | errors | queries/s | median (ms) | p99 (ms) |")
    print("|---|---|---|---|---|---|")
    for name, r in rows:
        print(f"| {name} | {r['answers']} | {r['errors']} | {r['qps']:.0f} | {r['p50']:.1f} | {r['p99']:.1f} |")


if __name__ == "__main__":
    main()
