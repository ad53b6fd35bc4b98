"""Load a scenario file (YAML, JSON, JSON-LD or Turtle) into an RDF graph.

The language is the one of SCENARIOS.md: a mapping with ``facts`` (JSON-LD
``@graph`` under hipaa-kg's default context, ontology/context.jsonld), and
optionally ``title``, ``source``, ``asOf``, ``context`` and ``expect``.
Nothing is fetched from the network: a remote ``@context`` is an error.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import warnings
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pyoxigraph import NamedNode
from rdflib import Graph, URIRef
from rdflib.plugins.parsers.notation3 import BadSyntax

from .errors import ScenarioError, shown
from .resources import ontology_file

TOP_LEVEL_KEYS = ("title", "source", "asOf", "context", "facts", "expect", "nearMissOf", "note")
LOCAL_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.~-]*$")
SUFFIXES = {".yaml": "yaml", ".yml": "yaml", ".json": "json", ".jsonld": "json", ".ttl": "turtle"}

# rdflib reports an ill-typed literal (a date 2025-02-30, a boolean "maybe") with a
# logged warning and traceback, or a Python warning, each quoting the value: the
# value may be health information, and validation names the node and property
# without it. Nothing rdflib logs reaches standard error or the application's logs.
_RDFLIB_LOG = logging.getLogger("rdflib")
_RDFLIB_LOG.addHandler(logging.NullHandler())
_RDFLIB_LOG.propagate = False
warnings.filterwarnings("ignore", category=UserWarning, module=r"rdflib\.")


@dataclass
class Scenario:
    """One scenario file, read: its facts as a graph, and what the file says about them."""

    source: str
    graph: Graph
    base: str | None = None
    title: str | None = None
    as_of: dt.date | None = None
    expect: dict[str, Any] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    near_miss_of: str | None = None  # the stem of the scenario file this one is a near miss of

    def local_id(self, node) -> str:
        """The id of a node as the file writes it: a local id, or the full IRI."""
        text = str(node)
        if self.base and text.startswith(self.base):
            return text[len(self.base) :]
        return text


class _Loader(yaml.SafeLoader):
    """YAML with the core schema's booleans (true/false only) and no implicit dates.

    ``yes``, ``no``, ``on``, ``off`` and ``2025-08-11`` stay strings: the context
    gives each term its type, and validation says when a value is not of it.
    """


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if not tag.endswith((":bool", ":timestamp"))]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


@cache
def default_context() -> dict:
    """The default JSON-LD context (ontology/context.jsonld)."""
    return json.loads(ontology_file("context.jsonld").read_text(encoding="utf-8"))["@context"]


@dataclass(frozen=True)
class Limits:
    """How large a scenario file may be, so that a hostile file is refused before it exhausts memory.

    Each can be set by an environment variable: HIPAA_KG_MAX_BYTES (default 10 MB),
    HIPAA_KG_MAX_NODES (mappings, lists and values after YAML aliases are expanded;
    default 100,000) and HIPAA_KG_MAX_DEPTH (nesting; default 32).
    """

    max_bytes: int = 10_000_000
    max_nodes: int = 100_000
    max_depth: int = 32

    @classmethod
    def from_environment(cls) -> Limits:
        found = {}
        for field_name, variable in (("max_bytes", "BYTES"), ("max_nodes", "NODES"), ("max_depth", "DEPTH")):
            value = os.environ.get(f"HIPAA_KG_MAX_{variable}")
            if value is not None:
                try:
                    found[field_name] = int(value)
                except ValueError:
                    raise ScenarioError(f"HIPAA_KG_MAX_{variable}", f"not a whole number: {value!r}") from None
        return cls(**found)


def load(path: str | Path, limits: Limits | None = None) -> Scenario:
    """Read one scenario file; raise ScenarioError, naming the file and line, if it cannot be."""
    source = str(path)
    limits = limits or Limits.from_environment()
    kind = SUFFIXES.get(Path(source).suffix.lower())
    if kind is None:
        raise ScenarioError(source, "unknown file type (expected .yaml, .yml, .json, .jsonld or .ttl)")
    try:
        if Path(source).stat().st_size > limits.max_bytes:
            raise ScenarioError(source, f"larger than {limits.max_bytes} bytes (HIPAA_KG_MAX_BYTES)")
        raw = Path(source).read_bytes()
    except OSError as e:
        raise ScenarioError(source, f"cannot read the file: {e.strerror or e}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ScenarioError(source, f"not UTF-8 text (byte {e.start})") from None
    if kind == "turtle":
        scenario = _from_turtle(source, text)
    else:
        data, lines = _read_yaml(source, text) if kind == "yaml" else _read_json(source, text)
        _check_size(source, data, limits)
        scenario = _from_mapping(source, data, lines)
    _check_iris(scenario)
    return scenario


def _check_iris(scenario: Scenario) -> None:
    """Every node and property is a valid absolute IRI, as the SPARQL engine reads IRIs.

    rdflib lets '<a{b>', '<http&://x>' or '<https://[host/>' through; pyoxigraph, the
    engine, refuses them, which was an internal error in the middle of a decision.
    """
    for term in sorted({t for triple in scenario.graph for t in triple if isinstance(t, URIRef)}):
        try:
            NamedNode(str(term))
        except ValueError:
            local = scenario.local_id(term)
            raise ScenarioError(
                scenario.source,
                f"'{shown(local)}' is not a valid IRI (RFC 3987)",
                scenario.lines.get(local),
            ) from None


def _check_size(source: str, data: Any, limits: Limits) -> None:
    """Count the nodes as JSON would write them (YAML aliases expanded), stopping at the limits."""
    count = 0
    stack = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > limits.max_nodes:
            raise ScenarioError(source, f"more than {limits.max_nodes} nodes, aliases expanded (HIPAA_KG_MAX_NODES)")
        if depth > limits.max_depth:
            raise ScenarioError(source, f"nested deeper than {limits.max_depth} levels (HIPAA_KG_MAX_DEPTH)")
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
            count += len(node)  # the keys
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)


class _FastLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """``_Loader`` parsed by libyaml (five times as fast), where PyYAML was built with it."""


_FastLoader.yaml_implicit_resolvers = _Loader.yaml_implicit_resolvers


# libyaml reads a few things otherwise than PyYAML's own parser: a tab as a separator, a '?' in a
# flow collection, a byte-order mark inside the text. A file with any of them is read by PyYAML alone.
SLOW_YAML = ("\t", "?", "\ufeff")


def _read_yaml(source: str, text: str) -> tuple[Any, dict[str, int]]:
    """The data and the line of each id: read by libyaml when PyYAML has it and the file has none of
    ``SLOW_YAML``; a file it cannot read is read again by PyYAML's own parser, whose error is the one given."""
    if yaml.__with_libyaml__ and not any(c in text for c in SLOW_YAML):
        try:
            yaml.reader.Reader(text)  # refuses control characters (a NUL byte) as _Loader does, before parsing
            loader = _FastLoader(text)
            try:
                node = loader.get_single_node()
                data = loader.construct_document(node) if node is not None else None
            finally:
                loader.dispose()
            return data, _id_lines(node) if node is not None else {}
        except (yaml.YAMLError, RecursionError):
            pass
    return _read_yaml_slowly(source, text)


def _read_yaml_slowly(source: str, text: str) -> tuple[Any, dict[str, int]]:
    try:
        loader = _Loader(text)  # the reader refuses control characters (a NUL byte) here, before parsing
    except yaml.reader.ReaderError as e:
        line = text.count("\n", 0, e.position) + 1
        code = e.character if isinstance(e.character, int) else ord(e.character)
        raise ScenarioError(source, f"not valid YAML: {_plain(e.reason)} (U+{code:04X})", line) from None
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else None
        raise ScenarioError(source, f"not valid YAML: {_plain(e.problem or e.context or '')}", line) from None
    except yaml.YAMLError as e:
        raise ScenarioError(source, f"not valid YAML: {_plain(str(e))}") from None
    except RecursionError:
        raise ScenarioError(source, TOO_DEEP) from None
    finally:
        loader.dispose()
    return data, _id_lines(node) if node is not None else {}


def _id_lines(node: yaml.Node) -> dict[str, int]:
    """The line of each mapping that has an ``id``, by id (each node once: an alias may make a cycle)."""
    lines: dict[str, int] = {}
    stack = [node]
    seen: set[int] = set()
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, yaml.MappingNode):
            for key, value in current.value:
                if key.value == "id" and isinstance(value, yaml.ScalarNode):
                    lines.setdefault(value.value, current.start_mark.line + 1)
                stack.append(value)
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)
    return lines


def _read_json(source: str, text: str) -> tuple[Any, dict[str, int]]:
    try:
        return json.loads(text), {}
    except json.JSONDecodeError as e:
        raise ScenarioError(source, f"not valid JSON: {e.msg}", e.lineno) from None
    except RecursionError:
        raise ScenarioError(source, TOO_DEEP) from None


def _from_mapping(source: str, data: Any, lines: dict[str, int]) -> Scenario:
    if not isinstance(data, dict):
        raise ScenarioError(source, "a scenario must be a mapping with a 'facts' list")
    _refuse_remote_contexts(source, data)
    base = Path(source).resolve().as_uri() + "/"
    if "@graph" in data or "@context" in data:  # a plain JSON-LD document: its context over the default one
        doc = dict(data)
        own = doc.get("@context")
        doc["@context"] = [default_context()] + (own if isinstance(own, list) else [own] if own else [])
        return Scenario(source, _parse_jsonld(source, doc, base=base), base=base)
    unknown = [k for k in data if k not in TOP_LEVEL_KEYS]
    if unknown:
        raise ScenarioError(source, f"unknown key '{unknown[0]}' (known: {', '.join(TOP_LEVEL_KEYS)})")
    facts = data.get("facts")
    if not isinstance(facts, list) or not all(isinstance(f, dict) for f in facts):
        raise ScenarioError(source, "'facts' must be a list of mappings, one per node")
    for fact in facts:
        _check_ids(source, fact, lines)
    context: list[Any] = [default_context()]
    if "context" in data:
        if not isinstance(data["context"], dict):
            raise ScenarioError(source, "'context' must be a mapping of JSON-LD term definitions")
        context.append(data["context"])
    graph = _parse_jsonld(source, {"@context": context, "@graph": facts}, base=base)
    return Scenario(
        source,
        graph,
        base=base,
        title=data.get("title") if isinstance(data.get("title"), str) else None,
        as_of=_as_of(source, data.get("asOf")),
        expect=_expect(source, data.get("expect")),
        lines=lines,
        near_miss_of=str(data["nearMissOf"]) if data.get("nearMissOf") is not None else None,
    )


def _check_ids(source: str, node: Any, lines: dict[str, int]) -> None:
    """Every ``id`` is a plain local name or a full IRI."""
    if isinstance(node, list):
        for item in node:
            _check_ids(source, item, lines)
        return
    if not isinstance(node, dict):
        return
    if "id" in node:
        value = node["id"]
        if not isinstance(value, str) or not (LOCAL_ID.match(value) or re.match(r"^[a-z][a-z0-9+.-]*:\S+$", value)):
            line = lines.get(value) if isinstance(value, str) else None
            raise ScenarioError(
                source,
                "an 'id' must be a name of letters, digits, '_', '-', '.' or a full IRI",
                line,
            )
    for value in node.values():
        _check_ids(source, value, lines)


def _refuse_remote_contexts(source: str, data: Any) -> None:
    """A JSON-LD context given by URL would be fetched: refuse it."""
    if isinstance(data, list):
        for item in data:
            _refuse_remote_contexts(source, item)
    elif isinstance(data, dict):
        for key, value in data.items():
            if key in ("@context", "context", "@import"):
                values = value if isinstance(value, list) else [value]
                if any(isinstance(v, str) for v in values):
                    raise ScenarioError(source, "a remote JSON-LD context is never fetched; give the context inline")
            _refuse_remote_contexts(source, value)


def _parse_jsonld(source: str, doc: dict, base: str | None) -> Graph:
    graph = Graph()
    try:
        text = json.dumps(doc)
    except (TypeError, ValueError):
        raise ScenarioError(
            source, "a value is not text, a number or a boolean (a YAML !!binary, !!set or !!timestamp?)"
        ) from None
    try:
        graph.parse(data=text, format="json-ld", base=base)
    except RecursionError:
        raise ScenarioError(source, TOO_DEEP) from None
    except Exception as e:  # rdflib raises many kinds of error for bad JSON-LD
        raise ScenarioError(source, f"not valid JSON-LD: {_plain(str(e)) or type(e).__name__}") from None
    return graph


def _from_turtle(source: str, text: str) -> Scenario:
    graph = Graph()
    try:
        graph.parse(data=text, format="turtle", publicID=Path(source).resolve().as_uri())
    except BadSyntax as e:
        raise ScenarioError(source, f"not valid Turtle: {_plain(e._why)}", e.lines + 1) from None
    except RecursionError:
        raise ScenarioError(source, TOO_DEEP) from None
    except Exception as e:  # rdflib's own assertions show the text around the error: name the error alone
        raise ScenarioError(source, f"not valid Turtle ({type(e).__name__} in the parser)") from None
    return Scenario(source, graph)


TOO_DEEP = "nested too deeply to read (see HIPAA_KG_MAX_DEPTH)"


def _plain(message: str, limit: int = 160) -> str:
    """A parser's message as one short line, without the text it quotes from the file.

    Parsers quote what they could not read ('bad escape: ...', 'invalid literal
    for int(): "..."'), which may be a value about a person: each quoted passage
    longer than two characters becomes '...' (a quoted '.' or '}' is syntax, and
    stays), the message keeps its first ``limit`` characters, and line breaks and
    control characters become spaces.
    """
    message = re.sub(r"'[^'\n]*'|\"[^\"\n]*\"", lambda m: m[0] if len(m[0]) <= 4 else "'...'", message)
    message = re.sub(r"(hex escape|illegal escape|appending characters)[: ]+\S+", r"\1", message)
    message = re.sub(r"[\x00-\x1f\x7f\u2028\u2029]+", " ", message)
    message = re.sub(r" {2,}", " ", message).strip()
    return message if len(message) <= limit else message[: limit - 3] + "..."


def _as_of(source: str, value: Any) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ScenarioError(source, "'asOf' must be a date written YYYY-MM-DD") from None


def _expect(source: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise ScenarioError(source, "'expect' must map each act id to its expected record")
    return {str(k): v for k, v in value.items()}


def node_iri(scenario: Scenario, local: str) -> URIRef:
    """The IRI of a node the file names by its local id."""
    return URIRef(scenario.base + local) if scenario.base else URIRef(local)
