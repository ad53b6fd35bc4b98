"""The disk cache of the ontology's closure and provisions (reasoner/cache.py).

One entry per content, found again by every process whatever its hash seed;
an entry that is truncated, empty or edited is computed again and rewritten;
the folder keeps the newest few entries. Every test points XDG_CACHE_HOME at
its own folder, so the user's cache is never touched.
"""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from rdflib import Graph, URIRef

from reasoner import cache
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


def test_two_processes_with_different_hash_seeds_share_one_closure_file(tmp_path):
    assert decision(evaluate(tmp_path, 1)) == "permitted"
    [entry] = entries(tmp_path)
    os.utime(entry, ns=(LONG_AGO, LONG_AGO))  # a rewrite would give it today's mtime
    inode = entry.stat().st_ino

    assert decision(evaluate(tmp_path, 2)) == "permitted"
    assert entries(tmp_path) == [entry]
    assert (entry.stat().st_mtime_ns, entry.stat().st_ino) == (LONG_AGO, inode), "the second run did not hit"


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
    closure = set(ontology.closure)
    return SimpleNamespace(folder=home / "hipaa-kg", closure=closure, size=len(closure), rules=load_rules(ontology))


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


DAMAGE = {"truncated": _truncated, "empty": lambda data: b"", "wrong checksum": _wrong_checksum, "edited": _edited}


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
