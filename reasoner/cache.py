"""A disk cache of what is computed from the package's own files (the ontology's closure, its provisions, the rules).

An entry is keyed by a sha256 of its input files' bytes, in the order given, and
of the versions of hipaa-kg, Python, rdflib and owlrl, so every process computes the same key
and finds the same entry. An entry is one file in ``$XDG_CACHE_HOME/hipaa-kg``
(default ``~/.cache/hipaa-kg``): a header line giving the body's sha256 and its
size (the graphs' triple counts, the number of rules), then the body, the value
pickled (rdflib's SPARQL algebra too, see ``_Pickler``). It is written to a temporary
file of a unique name, flushed to disk, and renamed over the entry, so a
concurrent reader sees a whole entry or none. An entry that does not match its
header (truncated, empty, edited) is computed again and rewritten. The newest
``KEEP`` entries of each kind are kept and older ones removed; temporary files
are never removed while they may still be written.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import re
import sys
import tempfile
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from functools import cache
from importlib.metadata import version
from pathlib import Path
from types import MethodType

from rdflib import Graph
from rdflib.plugins.sparql import operators
from rdflib.plugins.sparql.parserutils import CompValue, Expr

FORMAT = 1  # of the entries: a change of layout changes every key
KEEP = 4  # entries of each kind kept in the folder
STALE = 3600  # seconds after which a temporary file is left over from a killed process
HEADER = re.compile(rb"hipaa-kg cache (\d+) sha256=([0-9a-f]{64}) (\w+)=(\d+(?:,\d+)*)")
Size = Callable[[object], "tuple[str, list[int]] | None"]  # a value's size as its header gives it; None: not one


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
    versions = (f"{name} {version(name)}" for name in ("hipaa-kg", "rdflib", "owlrl"))
    return f"hipaa-kg cache {FORMAT}\npython {python}\n" + "".join(f"{v}\n" for v in versions)


def cached_graphs(kind: str, inputs: list[tuple[str, bytes]], compute: Callable[[], tuple[Graph, ...]]):
    """The graphs ``compute()`` gives for these inputs: from the entry ``KIND-KEY.pickle`` when it is whole."""
    return cached(kind, inputs, lambda: tuple(compute()), _graph_size, _compact)


def cached(kind: str, inputs: list[tuple[str, bytes]], compute: Callable[[], object], size: Size, compact=None):
    """What ``compute()`` gives for these inputs: from the entry ``KIND-KEY.pickle`` when it is whole.

    ``size(value)``: the label and numbers the header gives (e.g. ``("rules", [103])``), checked on reading;
    ``compact(value)``: what is pickled in its stead (default: the value).
    """
    path = folder() / f"{kind}-{key(inputs)[:32]}.pickle"
    value = read_value(path, size)
    if value is None:
        value = compute()
        if write_value(path, value, size, compact):
            prune(path.parent, kind, path)
    return value


def read(path: Path) -> tuple[Graph, ...] | None:
    """The graphs of an entry, or None when it is missing or does not match its header."""
    return read_value(path, _graph_size)


def write(path: Path, graphs: tuple[Graph, ...]) -> bool:
    """Write an entry of graphs whole; False when the folder cannot be written."""
    return write_value(path, graphs, _graph_size, _compact)


def read_value(path: Path, size: Size):
    """The value of an entry, or None when it is missing or does not match its header."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    head, _, body = data.partition(b"\n")
    found = HEADER.fullmatch(head)
    if found is None or int(found[1]) != FORMAT or hashlib.sha256(body).hexdigest().encode() != found[2]:
        return None
    try:
        value = pickle.loads(body)
    except Exception:  # a whole body the installed libraries cannot read: computed again
        return None
    if size(value) != (found[3].decode(), [int(n) for n in found[4].split(b",")]):
        return None
    return value


def write_value(path: Path, value, size: Size, compact=None) -> bool:
    """Write an entry whole (temporary file, fsync, rename); False when the folder cannot be written."""
    try:
        body = _dumps(compact(value) if compact else value)
    except (pickle.PicklingError, TypeError, AttributeError):  # a value pickle cannot take: just not cached
        return False
    label, numbers = size(value)
    digest = hashlib.sha256(body).hexdigest()
    head = f"hipaa-kg cache {FORMAT} sha256={digest} {label}={','.join(map(str, numbers))}\n".encode()
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
    except OSError:  # a read-only or full disk: the value is just not cached
        return False
    finally:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)


def _graph_size(value) -> tuple[str, list[int]] | None:
    if not isinstance(value, tuple) or not all(isinstance(g, Graph) for g in value):
        return None
    return "triples", [len(g) for g in value]


def _dumps(value) -> bytes:
    out = io.BytesIO()
    _Pickler(out, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
    return out.getvalue()


class _Pickler(pickle.Pickler):
    """A pickler that also takes rdflib's SPARQL algebra (``CompValue``), which the default pickle cannot.

    A ``CompValue`` is an ``OrderedDict`` whose ``__init__`` wants its name, and an ``Expr`` holds its
    operator as a method bound to itself: each is pickled as its class, its items, its attributes and
    the operator's function; one that rdflib keeps as a constant (``TrueFilter``) by its name.
    """

    def reducer_override(self, obj):
        if not isinstance(obj, CompValue):
            return NotImplemented
        constant = _constants().get(id(obj))
        if constant is not None:
            return _constant, (constant,)
        state = dict(vars(obj))
        operator = state.pop("_evalfn", None) if isinstance(obj, Expr) else None
        function = operator.__func__ if operator is not None else None
        return _new_algebra, (type(obj),), (state, function), None, iter(OrderedDict.items(obj)), _set_algebra


@cache
def _constants() -> dict[int, str]:
    """The algebra nodes rdflib's SPARQL operators module holds as constants, by their ids."""
    return {id(value): name for name, value in vars(operators).items() if isinstance(value, CompValue)}


def _constant(name: str) -> CompValue:
    return getattr(operators, name)


def _new_algebra(cls: type) -> CompValue:
    node = cls.__new__(cls)
    OrderedDict.__init__(node)
    return node


def _set_algebra(node: CompValue, state: tuple[dict, Callable | None]) -> None:
    attributes, function = state
    vars(node).update(attributes)
    if isinstance(node, Expr):
        node._evalfn = MethodType(function, node) if function is not None else None


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
