"""hipaa-kg serve: a real SPARQL endpoint (the Oxigraph server) on loopback, queried over HTTP, then stopped."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import psutil
import pytest

from reasoner.serve import records_graph

ROOT = Path(__file__).resolve().parent.parent
RECORDS = [
    {
        "line": 1,
        "id": "e1",
        "decision": "permitted",
        "asOf": "2026-11-24",
        "conditions": [{"id": "BusinessAssociateAgreement"}],
        "explanation": {
            "findings": [
                {
                    "rule": "164.506-c-1",
                    "kind": "Permission",
                    "provisions": ["45-CFR-164.506-c-1"],
                    "decisive": True,
                    "facts": {},
                }
            ],
            "minimumNecessary": [
                {"rule": "164.502-b-1", "kind": "MinimumNecessaryApplies", "provisions": ["45-CFR-164.502-b-1"]}
            ],
        },
    },
    {"line": 2, "error": "not valid JSON: Expecting value"},
    {"line": 3, "id": "e3", "decision": "not-regulated", "explanation": {"findings": []}},
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ask(port: int, query: str) -> list[dict]:
    url = f"http://127.0.0.1:{port}/query?" + urllib.parse.urlencode({"query": query})
    request = urllib.request.Request(url, headers={"Accept": "application/sparql-results+json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["results"]["bindings"]


def test_a_decision_file_as_triples(tmp_path):
    path = tmp_path / "decisions.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    triples = list(records_graph(str(path)))
    outcomes = sorted(str(o) for _, p, o in triples if str(p).endswith("/outcome"))
    assert outcomes == ["not-regulated", "permitted"]  # the malformed line has no decision
    assert any(str(o).endswith("/rule/164.506-c-1") for _, _, o in triples)


def test_a_broken_decision_file_is_one_line(tmp_path):
    from reasoner.errors import HipaaKgError

    path = tmp_path / "decisions.jsonl"
    path.write_text("{broken\n")
    with pytest.raises(HipaaKgError, match=r"decisions.jsonl:1: not a line of decision records"):
        list(records_graph(str(path)))


def test_the_endpoint_answers_sparql_over_http_and_stops_clean(tmp_path):
    decisions = tmp_path / "decisions.jsonl"
    decisions.write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    port = _free_port()
    location = tmp_path / "store"
    command = [sys.executable, "-m", "reasoner.cli", "serve", "--decisions", str(decisions), "--port", str(port)]
    server = subprocess.Popen(command + ["--location", str(location)], stderr=subprocess.PIPE, text=True)
    try:
        announced = server.stderr.readline()
        assert f"http://127.0.0.1:{port}/query" in announced, announced
        deadline = time.monotonic() + 60
        while True:
            try:
                rows = _ask(port, "PREFIX hk: <https://w3id.org/hipaa-kg/> SELECT ?act ?o WHERE { ?act hk:outcome ?o }")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        assert sorted(r["o"]["value"] for r in rows) == ["not-regulated", "permitted"]
        # the knowledge graph is there too: the decision's provision, quoted, with its eCFR URL
        rows = _ask(
            port,
            """PREFIX hk: <https://w3id.org/hipaa-kg/> PREFIX schema: <https://schema.org/>
               SELECT ?url WHERE { ?act hk:decidedBy/hk:provision ?p . ?p schema:url ?url }""",
        )
        assert [r["url"]["value"] for r in rows] == [
            "https://www.ecfr.gov/current/title-45/section-164.506#p-164.506(c)(1)"
        ]
        # read-only: an update is refused
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/update",
            data=b"INSERT DATA { <urn:a> <urn:b> <urn:c> }",
            headers={"Content-Type": "application/sparql-update"},
        )
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(request, timeout=30)
        children = psutil.Process(server.pid).children(recursive=True)
        assert children, "the Oxigraph server runs as a child process"
    finally:
        server.terminate()
        server.wait(timeout=60)
    assert all(not child.is_running() or child.status() == psutil.STATUS_ZOMBIE for child in children)
    assert location.exists()  # --location keeps the store; without it, a temporary folder is removed


def test_no_oxigraph_is_one_line(tmp_path, monkeypatch, capsys):
    from reasoner.cli import main

    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    assert main(["serve", "--port", str(_free_port())]) == 2
    assert capsys.readouterr().err.strip() == "hipaa-kg: the Oxigraph server is not installed (pip install oxigraph)"
