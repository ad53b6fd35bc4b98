"""Run a researcher's SPARQL query over the knowledge graph (pyoxigraph), and print the answer.

Queries only: a SPARQL UPDATE is not a query and is refused, so ``hipaa-kg query``
never changes anything. The graph is built in memory from the ontology, the
provisions, the rules and the decisions of the scenario files named; no file is
written and nothing is fetched.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field

import pyoxigraph as ox
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import NamespaceManager

from .engine import from_ox, to_ox
from .errors import HipaaKgError


@dataclass
class Answer:
    """A query's answer: rows of a SELECT, the truth of an ASK, or the triples of a CONSTRUCT/DESCRIBE."""

    variables: list[str] = field(default_factory=list)
    rows: list[tuple] = field(default_factory=list)
    boolean: bool | None = None
    graph: Graph | None = None


def run_query(graph: Graph, text: str, source: str = "query") -> Answer:
    store = ox.Store()
    store.extend(ox.Quad(*map(to_ox, t), ox.DefaultGraph()) for t in graph)
    try:
        result = store.query(text)
    except SyntaxError as e:
        raise HipaaKgError(f"{source}: not a SPARQL query (an update is never run): {str(e).splitlines()[0]}") from None
    if isinstance(result, ox.QueryBoolean):
        return Answer(boolean=bool(result))
    if isinstance(result, ox.QuerySolutions):
        names = [v.value for v in result.variables]
        rows = [tuple(from_ox(s[n]) if s[n] is not None else None for n in names) for s in result]
        return Answer(variables=names, rows=rows)
    found = Graph(namespace_manager=graph.namespace_manager)
    for triple in result:
        found.add((from_ox(triple.subject), from_ox(triple.predicate), from_ox(triple.object)))
    return Answer(graph=found)


def format_answer(answer: Answer, fmt: str, names: NamespaceManager) -> str:
    if answer.boolean is not None:
        return json.dumps({"boolean": answer.boolean}) + "\n" if fmt == "json" else f"{str(answer.boolean).lower()}\n"
    if answer.graph is not None:
        return answer.graph.serialize(format="json-ld" if fmt == "json" else "turtle")
    if fmt == "json":
        rows = [
            {v: _plain(t) for v, t in zip(answer.variables, row, strict=True) if t is not None} for row in answer.rows
        ]
        return json.dumps({"variables": answer.variables, "rows": rows}, indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(answer.variables)
        writer.writerows([_plain(t) if t is not None else "" for t in row] for row in answer.rows)
        return out.getvalue()
    cells = [[_short(t, names) for t in row] for row in answer.rows]
    widths = [max([len(v)] + [len(r[i]) for r in cells]) for i, v in enumerate(answer.variables)]
    lines = ["  ".join(v.ljust(w) for v, w in zip(answer.variables, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    lines.append(f"({len(cells)} row{'s' if len(cells) != 1 else ''})")
    return "\n".join(lines) + "\n"


def _plain(term) -> str:
    return str(term)


def _short(term, names: NamespaceManager) -> str:
    if term is None:
        return ""
    if isinstance(term, URIRef):
        try:
            return names.normalizeUri(term)
        except Exception:  # an IRI no prefix fits
            return str(term)
    if isinstance(term, Literal):
        return str(term)
    return str(term)
