"""hipaa-kg serve: a real SPARQL endpoint (the Oxigraph server) on loopback, queried over HTTP, then stopped."""

from __future__ import annotations

import http.client
import json
import os
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


def _start(tmp_path, *options, env=None) -> subprocess.Popen:
    """``hipaa-kg serve`` with these options, once it answers a query (its store in TMPDIR = tmp_path/tmp)."""
    temporary = tmp_path / "tmp"
    temporary.mkdir(exist_ok=True)
    environment = dict(os.environ, TMPDIR=str(temporary), **(env or {}))
    command = [sys.executable, "-m", "reasoner.cli", "serve", *options]
    server = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=environment)
    server.port = int(options[options.index("--port") + 1])
    deadline = time.monotonic() + 90
    try:
        while True:
            try:
                _ask(server.port, "SELECT ?s WHERE { ?s ?p ?o } LIMIT 1")
                return server
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"serve did not start: {server.stderr.read()}") from None
                time.sleep(0.2)
    except BaseException:
        server.kill()
        server.wait()
        raise


def _stop(server: subprocess.Popen) -> None:
    server.terminate()
    server.wait(timeout=60)
    server.stderr.close()


def _post(port: int, body: bytes, content_type: str, url_query: str = "") -> bytes:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/query" + url_query,
        data=body,
        headers={"Content-Type": content_type, "Accept": "application/sparql-results+json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.read()


def test_a_federated_query_is_refused_and_nothing_is_sent(tmp_path):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    target = f"http://127.0.0.1:{listener.getsockname()[1]}/sparql"
    server = _start(tmp_path, "--port", str(_free_port()))
    try:
        queries = [
            f"SELECT * WHERE {{ SERVICE <{target}> {{ ?s ?p ?o }} }}",
            f"select * where {{ ?s ?p ?o OPTIONAL {{ service silent <{target}> {{ ?s ?q ?r }} }} }}",
            f"SELECT * WHERE {{ \\u0053ERVICE <{target}> {{ ?s ?p ?o }} }}",  # an escape, read before parsing
            f"SELECT * WHERE {{ BIND(<{target}> AS ?e) SERVICE ?e {{ ?s ?p ?o }} }}",
        ]
        port = server.port
        for query in queries:
            for send in (
                lambda q: _ask(port, q),
                lambda q: _post(
                    port, urllib.parse.urlencode({"query": q}).encode(), "application/x-www-form-urlencoded"
                ),
                lambda q: _post(port, q.encode(), "application/sparql-query"),
            ):
                with pytest.raises(urllib.error.HTTPError) as refused:
                    send(query)
                assert refused.value.code == 400
                assert "SERVICE" in refused.value.read().decode()
        # a query that only mentions the word is answered
        assert _ask(port, 'SELECT ?x WHERE { BIND("a SERVICE clause" AS ?x) }') == [
            {"x": {"type": "literal", "value": "a SERVICE clause"}}
        ]
        listener.settimeout(1)
        with pytest.raises(TimeoutError):
            listener.accept()
    finally:
        listener.close()
        _stop(server)


def test_a_runaway_query_ends_with_an_error(tmp_path):
    server = _start(tmp_path, "--port", str(_free_port()), "--timeout", "2")
    try:
        (first,) = psutil.Process(server.pid).children()
        started = time.monotonic()
        with pytest.raises(urllib.error.HTTPError) as stopped:  # Oxigraph alone runs this one on for minutes
            _ask(server.port, "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }")
        assert time.monotonic() - started < 20
        assert stopped.value.code == 503
        assert "stopped after 2 s" in stopped.value.read().decode()
        # a stream of results that goes on is cut: the client sees it cut short
        started = time.monotonic()
        with pytest.raises(http.client.IncompleteRead):
            _ask(server.port, "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }")
        assert time.monotonic() - started < 20
        # the server that ran them is gone, and another answers
        assert _ask(server.port, "SELECT ?s WHERE { ?s ?p ?o } LIMIT 1")
        assert not first.is_running() or first.status() == psutil.STATUS_ZOMBIE
        assert len(psutil.Process(server.pid).children()) == 1
    finally:
        _stop(server)


def test_a_killed_server_leaves_no_oxigraph_and_its_store_is_removed_on_the_next_start(tmp_path):
    server = _start(tmp_path, "--port", str(_free_port()))
    (child,) = psutil.Process(server.pid).children()
    stores = list((tmp_path / "tmp").iterdir())
    assert stores
    server.kill()
    server.wait(timeout=30)
    server.stderr.close()
    deadline = time.monotonic() + 5
    while child.is_running() and child.status() != psutil.STATUS_ZOMBIE and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE, "Oxigraph outlived hipaa-kg serve"
    assert all(store.exists() for store in stores)  # left by the kill
    again = _start(tmp_path, "--port", str(_free_port()))
    try:
        assert not any(store.exists() for store in stores)
    finally:
        _stop(again)
    assert list((tmp_path / "tmp").iterdir()) == []


def test_a_port_in_use_is_one_line_before_anything_is_announced(capsys):
    from reasoner.cli import main

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 2
    assert capsys.readouterr().err == f"hipaa-kg: 127.0.0.1:{port}: the port is in use\n"


def test_two_decision_files_of_one_name_do_not_collide(tmp_path):
    acts = set()
    for folder in ("A", "B"):
        (tmp_path / folder).mkdir()
        path = tmp_path / folder / "decisions.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
        acts |= {(s, str(o)) for s, p, o in records_graph(str(path)) if str(p).endswith("/outcome")}
    assert len(acts) == 4
    assert len({act for act, _ in acts}) == 4  # no event with two outcomes
