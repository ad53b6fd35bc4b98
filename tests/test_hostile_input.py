"""Hostile input: bounded resources, and nothing is ever fetched from the network."""

import subprocess
import sys
import textwrap

import pytest
from conftest import ROOT

from reasoner.errors import ScenarioError
from reasoner.scenario import Limits, load

ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{n}: &{n} [{', '.join(['*' + p] * 9)}]\n" for p, n in zip("abcdef", "bcdefg", strict=True)
)


def test_a_yaml_alias_bomb_is_refused(tmp_path):
    """Nine levels of nine aliases: tiny as YAML, 9**7 values once expanded."""
    path = tmp_path / "bomb.yaml"
    path.write_text(ALIAS_BOMB + "facts: [*g]\n")
    with pytest.raises(ScenarioError, match="HIPAA_KG_MAX_NODES"):
        load(path)


def test_deep_nesting_is_refused(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text("facts:\n  - " + "{a: " * 100 + "1" + "}" * 100 + "\n")
    with pytest.raises(ScenarioError, match="HIPAA_KG_MAX_DEPTH"):
        load(path)


def test_a_large_file_is_refused_before_it_is_read(tmp_path, monkeypatch):
    path = ROOT / "examples" / "aco-provider-to-provider.yaml"
    with pytest.raises(ScenarioError, match="larger than 100 bytes"):
        load(path, Limits(max_bytes=100))
    monkeypatch.setenv("HIPAA_KG_MAX_BYTES", "100")
    with pytest.raises(ScenarioError, match="HIPAA_KG_MAX_BYTES"):
        load(path)


def test_the_limits_are_overridable(tmp_path, monkeypatch):
    monkeypatch.setenv("HIPAA_KG_MAX_NODES", "not a number")
    with pytest.raises(ScenarioError, match="not a whole number"):
        Limits.from_environment()


NO_NETWORK = """
import sys

def refuse(event, args):
    if event.startswith(("socket.", "urllib.Request", "http.client")) and event != "socket.__new__":
        raise RuntimeError(f"network access attempted: {event} {args!r}")

sys.addaudithook(refuse)
from reasoner.cli import main
out, imports, remote, remote_yaml, *examples = sys.argv[1:]
codes = [
    main(["evaluate", "--format", "json", "-o", out, *examples]),
    main(["evaluate", "--format", "turtle", imports]),
    main(["evaluate", remote]),
    main(["evaluate", remote_yaml]),
]
print(codes)
"""


def test_nothing_is_fetched(tmp_path):
    """Remote contexts, owl:imports and URLs in the data: an audit hook fails on any socket or URL request."""
    imports = tmp_path / "imports.ttl"
    imports.write_text(
        textwrap.dedent(
            """\
            @prefix owl: <http://www.w3.org/2002/07/owl#> .
            @prefix hk: <https://w3id.org/hipaa-kg/> .
            <https://example.org/s> a owl:Ontology ; owl:imports <https://example.org/ontology.ttl> .
            <https://example.org/u1> a hk:Use ; hk:actor <https://example.org/p> ;
                hk:information [ a hk:ProtectedHealthInformation ; hk:about <https://example.org/i> ] .
            <https://example.org/p> a hk:HealthPlan .
            <https://example.org/i> a hk:Individual ;
                <http://www.w3.org/2000/01/rdf-schema#seeAlso> <https://example.org/x> .
            """
        )
    )
    remote = tmp_path / "remote.jsonld"
    remote.write_text('{"@context": "https://example.org/context.jsonld", "@graph": []}')
    remote_yaml = tmp_path / "remote.yaml"
    remote_yaml.write_text("context: {'@import': 'https://example.org/c.jsonld'}\nfacts: []\n")
    examples = sorted(str(p) for p in (ROOT / "examples").glob("*"))[:6]
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            NO_NETWORK,
            str(tmp_path / "out.json"),
            str(imports),
            str(remote),
            str(remote_yaml),
            *examples,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "network access attempted" not in out.stdout + out.stderr
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[0, 0, 2, 2]"
    assert "never fetched" in out.stderr
