"""A disk cache of the graphs computed from the package's own files (the ontology's closure, its provisions).

An entry is keyed by a sha256 of its input files' bytes, in the order given, and
of the Python, rdflib and owlrl versions, so every process computes the same key
and finds the same entry. An entry is one file in ``$XDG_CACHE_HOME/hipaa-kg``
(default ``~/.cache/hipaa-kg``): a header line giving the body's sha256 and its
triple counts, then the body, the graphs pickled. It is written to a temporary
file of a unique name, flushed to disk, and renamed over the entry, so a
concurrent reader sees a whole entry or none. An entry that does not match its
header (truncated, empty, edited) is computed again and rewritten. The newest
``KEEP`` entries of each kind are kept and older ones removed; temporary files
are never removed while they may still be written.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from functools import cache
from importlib.metadata import version
from pathlib import Path

from rdflib import Graph

FORMAT = 1  # of the entries: a change of layout changes every key
KEEP = 4  # entries of each kind kept in the folder
STALE = 3600  # seconds after which a temporary file is left over from a killed process
HEADER = re.compile(rb"hipaa-kg cache (\d+) sha256=([0-9a-f]{64}) triples=(\d+(?:,\d+)*)")


def folder() -> Path:
    """The cache folder: ``$XDG_CACHE_HOME/hipaa-kg``, or ``~/.cache/hipaa-kg``."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "hipaa-kg"


def key(inputs: Iterable[tuple[str, bytes]]) -> str:
    """The sha256 of the inputs (each file's name and bytes) and of the versions that read them."""
    digest = hashlib.sha256(_versions().encode())
    for name, data in inputs:
        digest.update(f"{name} {len(data)}\n".encode())
        digest.update(data)
    return digest.hexdigest()


@cache
def _versions() -> str:
    python = f"{sys.version_info[0]}.{sys.version_info[1]}"
    return f"hipaa-kg cache {FORMAT}\npython {python}\nrdflib {version('rdflib')}\nowlrl {version('owlrl')}\n"


def cached_graphs(kind: str, inputs: list[tuple[str, bytes]], compute: Callable[[], tuple[Graph, ...]]):
    """The graphs ``compute()`` gives for these inputs: from the entry ``KIND-KEY.pickle`` when it is whole."""
    path = folder() / f"{kind}-{key(inputs)[:32]}.pickle"
    graphs = read(path)
    if graphs is None:
        graphs = tuple(compute())
        if write(path, graphs):
            prune(path.parent, kind, path)
    return graphs


def read(path: Path) -> tuple[Graph, ...] | None:
    """The graphs of an entry, or None when it is missing or does not match its header."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    head, _, body = data.partition(b"\n")
    found = HEADER.fullmatch(head)
    if found is None or int(found[1]) != FORMAT or hashlib.sha256(body).hexdigest().encode() != found[2]:
        return None
    try:
        graphs = pickle.loads(body)
    except Exception:  # a whole body the installed rdflib cannot read: computed again
        return None
    counts = [int(n) for n in found[3].split(b",")]
    if not isinstance(graphs, tuple) or not all(isinstance(g, Graph) for g in graphs):
        return None
    if [len(g) for g in graphs] != counts:
        return None
    return graphs


def write(path: Path, graphs: tuple[Graph, ...]) -> bool:
    """Write an entry whole (temporary file, fsync, rename); False when the folder cannot be written."""
    body = pickle.dumps(_compact(graphs), protocol=pickle.HIGHEST_PROTOCOL)
    counts = ",".join(str(len(g)) for g in graphs)
    head = f"hipaa-kg cache {FORMAT} sha256={hashlib.sha256(body).hexdigest()} triples={counts}\n".encode()
    temporary = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(handle, "wb") as out:
            out.write(head)
            out.write(body)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
        temporary = None
        _sync_folder(path.parent)
        return True
    except OSError:  # a read-only or full disk: the graphs are just not cached
        return False
    finally:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)


def _compact(graphs: tuple[Graph, ...]) -> tuple[Graph, ...]:
    """Copies of the graphs sharing one object per distinct term, so that each term is pickled and read once."""
    terms: dict = {}
    copies = []
    for graph in graphs:
        copy = Graph(identifier=graph.identifier)
        for prefix, namespace in graph.namespaces():
            copy.bind(prefix, namespace, override=True, replace=True)
        copy.addN((*(terms.setdefault(term, term) for term in triple), copy) for triple in graph)
        copies.append(copy)
    return tuple(copies)


def prune(where: Path, kind: str, current: Path) -> None:
    """Remove all but the newest ``KEEP`` entries of a kind (``current`` always kept), and stale temporary files."""
    entries = []
    for entry in where.glob(f"{kind}-*.*"):
        try:
            entries.append((entry.stat().st_mtime, entry.name, entry))
        except OSError:  # removed by another process meanwhile
            continue
    entries.sort(reverse=True)
    for _, _, entry in [e for e in entries if e[2] != current][KEEP - 1 :]:
        entry.unlink(missing_ok=True)
    now = time.time()
    for temporary in where.glob("*.tmp"):
        try:
            if now - temporary.stat().st_mtime > STALE:
                temporary.unlink(missing_ok=True)
        except OSError:
            continue


def _sync_folder(where: Path) -> None:
    """Make a rename durable (POSIX); a no-op where folders cannot be opened."""
    try:
        handle = os.open(where, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)
