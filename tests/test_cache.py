"""The disk cache of the ontology's closure and provisions and of the rules (reasoner/cache.py).

One entry per content, found again by every process whatever its hash seed;
an entry that is truncated, empty or edited is computed again and rewritten;
an edited rule file is another content; the folder keeps the newest few entries.
Every test points XDG_CACHE_HOME at its own folder, so the user's cache is never touched.
"""

import json
import os
import shutil
import subprocess
import sys
import time
from collections import OrderedDict
from pathlib import Path
from types import SimpleNamespace

import pytest
from rdflib import BNode, Graph, URIRef
from rdflib.plugins.sparql.parserutils import CompValue

from reasoner import cache
from reasoner import rules as rules_module
from reasoner.decide import Reasoner
from reasoner.ontology import Ontology
from reasoner.rules import load_rules

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "payment-claim-to-plan.yaml"
LONG_AGO = 1_000_000_000 * 10**9  # an mtime (ns) no write of today gives


def evaluate(cache_home: Path, seed: int) -> subprocess.Popen:
    """``hipaa-kg evaluate --format json EXAMPLE`` in a new process with this cache folder and hash seed."""
    env = dict(os.environ, XDG_CACHE_HOME=str(cache_home), PYTHONHASHSEED=str(seed))
    command = [sys.executable, "-m", "reasoner.cli", "evaluate", "--format", "json", str(EXAMPLE)]
    return subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def decision(process: subprocess.Popen) -> str:
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err
    return json.loads(out)["scenarios"][0]["acts"][0]["decision"]


def entries(cache_home: Path, kind: str = "closure") -> list[Path]:
    return sorted((cache_home / "hipaa-kg").glob(f"{kind}-*"))


KINDS = ("closure", "provisions", "rules")


def test_two_processes_with_different_hash_seeds_share_one_file_of_each_kind(tmp_path):
    assert decision(evaluate(tmp_path, 1)) == "permitted"
    found = {kind: entries(tmp_path, kind) for kind in KINDS}
    assert all(len(found[kind]) == 1 for kind in KINDS), found
    for [entry] in found.values():
        os.utime(entry, ns=(LONG_AGO, LONG_AGO))  # a rewrite would give it today's mtime
    inodes = {kind: entry.stat().st_ino for kind, [entry] in found.items()}

    assert decision(evaluate(tmp_path, 2)) == "permitted"
    for kind, [entry] in found.items():
        assert entries(tmp_path, kind) == [entry]
        assert (entry.stat().st_mtime_ns, entry.stat().st_ino) == (LONG_AGO, inodes[kind]), f"{kind}: no hit"


def test_two_processes_started_together_leave_one_whole_entry_of_each_kind(tmp_path):
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    load = [sys.executable, "-c", "from reasoner.ontology import Ontology; print(len(Ontology().closure))"]
    runs = [subprocess.Popen(load, env={**env, "PYTHONHASHSEED": seed}, stdout=subprocess.PIPE) for seed in "34"]
    sizes = [run.communicate(timeout=600)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0] and sizes[0] == sizes[1]
    for kind in ("closure", "provisions"):
        [entry] = entries(tmp_path, kind)
        assert cache.read(entry) is not None
    assert not list((tmp_path / "hipaa-kg").glob("*.tmp"))


@pytest.fixture(scope="module")
def filled(tmp_path_factory):
    """A cache folder filled by one Ontology(), the closure it holds, and the rules."""
    home = tmp_path_factory.mktemp("filled")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(home))
        ontology = Ontology()
        rules = load_rules(ontology)
    closure = set(ontology.closure)
    return SimpleNamespace(folder=home / "hipaa-kg", ontology=ontology, closure=closure, size=len(closure), rules=rules)


def _truncated(data: bytes) -> bytes:
    """Cut at a line boundary, about halfway."""
    return data[: data.rindex(b"\n", 0, len(data) // 2) + 1]


def _wrong_checksum(data: bytes) -> bytes:
    head, _, body = data.partition(b"\n")
    digit = head.index(b"sha256=") + len(b"sha256=")
    flipped = b"0" if head[digit : digit + 1] != b"0" else b"1"
    return head[:digit] + flipped + head[digit + 1 :] + b"\n" + body


def _edited(data: bytes) -> bytes:
    """A term renamed in the body, its length kept: the header no longer matches."""
    at = data.index(b"https://w3id.org/hipaa-kg/Party")
    return data[:at] + data[at:].replace(b"/Party", b"/Pxrty", 1)


def _edited_rule(data: bytes) -> bytes:
    """A rule's keyword changed in the body, its length kept: the header no longer matches."""
    at = data.index(b"CONSTRUCT", data.index(b"\n"))
    return data[:at] + b"CONSTRUKT" + data[at + len(b"CONSTRUCT") :]


DAMAGE = {"truncated": _truncated, "empty": lambda data: b"", "wrong checksum": _wrong_checksum, "edited": _edited}
RULES_DAMAGE = {**DAMAGE, "edited": _edited_rule}


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_closure_file_is_computed_again_and_repaired(filled, tmp_path, monkeypatch, damage):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    shutil.copytree(filled.folder, tmp_path / "hipaa-kg")
    [entry] = entries(tmp_path)
    entry.write_bytes(DAMAGE[damage](entry.read_bytes()))

    ontology = Ontology()
    assert len(ontology.closure) == filled.size and set(ontology.closure) == filled.closure
    assert entries(tmp_path) == [entry]
    repaired = cache.read(entry)
    assert repaired is not None and set(repaired[1]) == filled.closure

    result = Reasoner(ontology=ontology, rules=filled.rules, why_not=False).decide(EXAMPLE)
    assert result.conforms, [v.message for v in result.violations]
    assert [a["decision"] for a in result.acts] == ["permitted"]


def test_the_command_repairs_a_truncated_closure_file(filled, tmp_path):
    shutil.copytree(filled.folder, tmp_path / "hipaa-kg")
    [entry] = entries(tmp_path)
    entry.write_bytes(_truncated(entry.read_bytes()))
    assert decision(evaluate(tmp_path, 5)) == "permitted"
    assert entries(tmp_path) == [entry] and cache.read(entry) is not None


def test_an_entry_read_back_holds_the_graphs_written(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    text = "@prefix ex: <urn:ex:> . ex:a ex:b [ ex:c 1, 'x'@en ], ex:a ."
    graphs = (Graph().parse(data=text, format="turtle"), Graph().parse(data="<urn:a> <urn:b> 2 .", format="turtle"))
    inputs = [("t.ttl", text.encode())]
    assert cache.cached_graphs("test", inputs, lambda: graphs) is graphs
    read = cache.cached_graphs("test", inputs, lambda: pytest.fail("computed again"))
    assert [set(g) for g in read] == [set(g) for g in graphs]
    assert [sorted(g.namespaces()) for g in read] == [sorted(g.namespaces()) for g in graphs]


def test_the_folder_keeps_the_newest_entries_and_the_temporary_files_in_use(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    folder = tmp_path / "hipaa-kg"
    folder.mkdir()
    now = time.time()
    old = [folder / f"closure-{n:016x}.nt" for n in range(6)]  # the names of the old, never-hit cache
    for age, path in enumerate(old):
        path.write_bytes(b"<a> <b> <c> .\n")
        os.utime(path, (now - 60 * (age + 1), now - 60 * (age + 1)))
    other_kind = folder / "provisions-0.pickle"
    other_kind.write_bytes(b"")
    os.utime(other_kind, (now - 86400, now - 86400))
    stale, in_use = folder / ".closure-x.pickle.a.tmp", folder / ".closure-x.pickle.b.tmp"
    for path in (stale, in_use):
        path.write_bytes(b"")
    os.utime(stale, (now - 2 * cache.STALE, now - 2 * cache.STALE))

    graph = Graph()
    graph.add((URIRef("urn:a"), URIRef("urn:b"), URIRef("urn:c")))
    (got,) = cache.cached_graphs("closure", [("t.ttl", b"<urn:a> <urn:b> <urn:c> .")], lambda: (graph,))
    assert set(got) == set(graph)

    [current] = [p for p in entries(tmp_path) if p.suffix == ".pickle"]
    assert entries(tmp_path) == sorted([current, *old[: cache.KEEP - 1]])
    assert other_kind.exists() and in_use.exists() and not stale.exists()


class Alike:
    """Whether values are alike all through: rdflib's algebra nodes by class, attributes and items; blank nodes
    (fresh at each parse) by a one-to-one map kept across the comparisons."""

    def __init__(self):
        self.blanks: dict[BNode, BNode] = {}

    def __call__(self, a, b) -> bool:
        if type(a) is not type(b):
            return False
        if isinstance(a, BNode):
            return self.blanks.setdefault(a, b) == b and list(self.blanks.values()).count(b) == 1
        if isinstance(a, CompValue):
            attributes = [{k: getattr(v, "__func__", v) for k, v in vars(x).items()} for x in (a, b)]
            return a is b or self(attributes[0], attributes[1]) and self(list(OrderedDict.items(a)), list(b.items()))
        if isinstance(a, dict):
            return a.keys() == b.keys() and all(self(a[k], b[k]) for k in a)
        if isinstance(a, list | tuple):
            return len(a) == len(b) and all(self(x, y) for x, y in zip(a, b, strict=True))
        return a == b


def same_algebra(a, b) -> bool:
    return Alike()(a, b)


def same_rules(a, b) -> bool:
    """Whether two RuleSets hold the same rules, order, strata, graph and calendar."""
    alike = Alike()
    fields = ("name", "text", "header", "select", "reads", "writes", "stratum")
    return (
        [[r.name for r in g] for g in a.groups] == [[r.name for r in g] for g in b.groups]
        and all(getattr(x, f) == getattr(y, f) for x, y in zip(a.order, b.order, strict=True) for f in fields)
        and all(alike(x.template, y.template) for x, y in zip(a.order, b.order, strict=True))
        and all(alike(x.where, y.where) for x, y in zip(a.order, b.order, strict=True))
        and a.recursive == b.recursive
        and list(a.edges.items()) == list(b.edges.items())
        and vars(a.calendar) == vars(b.calendar)
    )


def test_the_rules_read_back_are_the_rules_parsed(filled, tmp_path, monkeypatch):
    from reasoner.resources import query_files

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    shutil.copytree(filled.folder, tmp_path / "hipaa-kg")
    texts = [(f.name[: -len(".rq")], f.read_text(encoding="utf-8")) for f in query_files("rules")]
    parsed = rules_module._load(filled.ontology, texts)
    read = load_rules(filled.ontology)
    assert read is not filled.rules and same_rules(read, parsed)

    name, text = next((n, t) for n, t in texts if "FILTER NOT EXISTS" in t)  # the comparison fails on a filter more
    edited = rules_module.parse_rule(name, text.replace("FILTER NOT", "FILTER (true) FILTER NOT", 1), filled.ontology)
    assert not same_algebra(edited.where, read.by_name(name).where)


@pytest.mark.parametrize("damage", RULES_DAMAGE)
def test_a_damaged_rules_file_is_computed_again_and_repaired(filled, tmp_path, monkeypatch, damage):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    shutil.copytree(filled.folder, tmp_path / "hipaa-kg")
    [entry] = entries(tmp_path, "rules")
    entry.write_bytes(RULES_DAMAGE[damage](entry.read_bytes()))
    assert cache.read_value(entry, rules_module._size) is None

    rules = load_rules(filled.ontology)
    assert same_rules(rules, filled.rules)
    assert entries(tmp_path, "rules") == [entry]
    repaired = cache.read_value(entry, rules_module._size)
    assert repaired is not None and same_rules(repaired, filled.rules)

    result = Reasoner(ontology=filled.ontology, rules=rules).decide(EXAMPLE)
    assert [a["decision"] for a in result.acts] == ["permitted"]


LOAD_RULES = """
import json, sys
from reasoner.ontology import Ontology
from reasoner.rules import load_rules
rules = load_rules(Ontology())
print(json.dumps([sys.modules["reasoner"].__file__, rules.by_name(sys.argv[1]).summary]))
"""


def test_an_edited_rule_file_is_another_entry(filled, tmp_path):
    """The package copied to a folder of its own: the copy finds the entry; once a rule is edited it does not."""
    from importlib.resources import files

    package = tmp_path / "site" / "reasoner"
    shutil.copytree(ROOT / "reasoner", package, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("ontology_files", "query_files"):
        shutil.copytree(
            Path(str(files(f"reasoner.{name}"))), package / name, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copytree(filled.folder, tmp_path / "cache" / "hipaa-kg")
    [entry] = entries(tmp_path / "cache", "rules")
    os.utime(entry, ns=(LONG_AGO, LONG_AGO))
    rule = "164.502-a-3"
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "PYTHONPATH": str(package.parent)}

    def load() -> str:
        command = [sys.executable, "-c", LOAD_RULES, rule]
        out = subprocess.run(command, env=env, cwd=package.parent, capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, out.stderr
        where, summary = json.loads(out.stdout)
        assert Path(where).parent == package  # the copy was loaded, not the checkout
        return summary

    assert load() == filled.rules.by_name(rule).summary
    assert entries(tmp_path / "cache", "rules") == [entry] and entry.stat().st_mtime_ns == LONG_AGO

    path = package / "query_files" / "rules" / f"{rule}.rq"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("#+ summary: ", "#+ summary: Edited. ", 1), encoding="utf-8")
    assert load() == "Edited. " + filled.rules.by_name(rule).summary
    assert len(entries(tmp_path / "cache", "rules")) == 2 and entry.stat().st_mtime_ns == LONG_AGO
