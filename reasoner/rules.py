"""The rules: SPARQL CONSTRUCT files under queries/rules/, and their order.

A rule file starts with a header of ``#+ key: value`` lines (``summary``,
``provision``, ``quote``, ``guidance``, ``note``, ``earlier``), then one
CONSTRUCT query.

Rules follow their provisions in time: a rule is in force on a date when every
provision its header names (``#+ provision:``) is in force on that date, or an
earlier text of it that the header names too (``#+ earlier:``, for a rule that
holds under the text a later document replaced). When each text was in force is
data (``hk:inForce`` in ontology/provisions.ttl, from tools/provision_history.yaml);
``RuleSet.in_force(date)`` names the rules in force on a date, and the engine runs
only those.

The order in which rules run is computed, not kept by hand: from each rule's
query, what it reads (the triple patterns of its WHERE clause, negatively
inside FILTER NOT EXISTS, MINUS and OPTIONAL) and what it writes (its
template). A rule runs after every rule it reads from; a rule that reads a
fact negatively (or through an aggregate: MAX, COUNT) runs only once that fact
is complete, so a cycle through negation is an error at load time.

Dependency keys: ``type:C`` for ``?x a C``; ``p`` for a predicate; ``p@C``
for a predicate whose subject the same pattern types with class C (so that
rules may read one kind of finding and write another); ``*`` for a
variable predicate. A written ``type:C`` or ``p@C`` also writes the same key
for every class above C.
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

from rdflib import RDF, BNode, Graph, URIRef, Variable
from rdflib.paths import Path as PropertyPath
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.algebra import triples as algebra_triples
from rdflib.plugins.sparql.parserutils import CompValue

from .cache import cached
from .errors import RuleError
from .namespaces import DCTERMS, HK, HKP, HKR, PREFIXES
from .ontology import Ontology
from .resources import query_files
from .threads import RDFLIB_PARSER

HEADER = re.compile(r"^#\+ ?(\w[\w-]*)\s*:\s*(.*)$")
CONTINUATION = re.compile(r"^#\+\s{2,}(.*)$")
MULTI_VALUED = ("provision", "guidance", "data", "expect", "earlier")


@dataclass
class Rule:
    """One rule file."""

    name: str
    text: str
    header: dict[str, list[str]]
    select: str
    template: list[tuple]
    reads: set[tuple[str, bool]] = field(default_factory=set)  # (key, negative)
    writes: set[str] = field(default_factory=set)
    stratum: int = 0
    where: object = None  # the WHERE clause's algebra (rdflib), as parsed

    @property
    def iri(self) -> URIRef:
        return HKR[self.name]

    @property
    def summary(self) -> str:
        return " ".join(self.header.get("summary", []))

    @property
    def provisions(self) -> list[str]:
        return self.header.get("provision", [])

    @property
    def earlier(self) -> list[str]:
        """Earlier texts of its provisions under which the rule holds too (labels of historical provisions)."""
        return self.header.get("earlier", [])

    @property
    def guidance(self) -> list[URIRef]:
        """The OCR guidance the header names (``#+ guidance: hkp:ocr-faq-...``), as IRIs."""
        return [HKP[g[len("hkp:") :]] if g.startswith("hkp:") else URIRef(g) for g in self.header.get("guidance", [])]

    def terms(self) -> set[URIRef]:
        """Every hk: and hkp: IRI the rule names, in its template or its WHERE clause."""
        found = {t for triple in self.template for t in triple if isinstance(t, URIRef)}
        with RDFLIB_PARSER:
            _collect_iris(prepareQuery(self.select, initNs=PREFIXES).algebra, found)
        return {t for t in found if t.startswith(HK)}

    def template_bnodes(self) -> set[BNode]:
        return {t for triple in self.template for t in triple if isinstance(t, BNode)}


@dataclass(frozen=True)
class Period:
    """Days a provision's text was in force: ``start`` on, until ``end`` (exclusive; None: still in force)."""

    start: dt.date
    end: dt.date | None = None

    def __contains__(self, day: dt.date) -> bool:
        return self.start <= day and (self.end is None or day < self.end)

    def __str__(self) -> str:
        return f"{self.start.isoformat()} to {self.end.isoformat() if self.end else 'today'}"


class Calendar:
    """When each rule is in force: from the periods of the provisions its header names."""

    def __init__(self, ontology: Ontology, rules: list[Rule]):
        graph = ontology.provision_graph
        self.periods: dict[URIRef, list[Period]] = {}
        for provision, node in graph.subject_objects(HK.inForce):
            start, end = graph.value(node, HK["from"]), graph.value(node, HK.until)
            period = Period(start.toPython(), end.toPython() if end is not None else None)
            self.periods.setdefault(provision, []).append(period)
        for found in self.periods.values():
            found.sort(key=lambda p: p.start)
        self.requirements = {rule.name: _requirements(ontology, graph, rule) for rule in rules}
        named = {i for groups in self.requirements.values() for group in groups for i in group}
        starts = [p.start for i in named for p in self.periods.get(i, [])]
        self.labels = {i: ontology.provisions[i].label for i in named}
        self.earliest: dt.date | None = min(starts) if starts else None
        # the days on which some rule's provisions begin or end: between two of them, the same rules are in force
        self.changes = sorted({d for i in named for p in self.periods.get(i, []) for d in (p.start, p.end) if d})

    def span(self, day: dt.date) -> int:
        """Which of the spans between the days the rules change a day falls in (the same span, the same rules)."""
        return bisect.bisect_right(self.changes, day)

    def provision_in_force(self, provision: URIRef, day: dt.date) -> bool:
        """A provision without periods (OCR guidance) is taken to be in force on every day."""
        periods = self.periods.get(provision)
        return periods is None or any(day in p for p in periods)

    def rule_in_force(self, name: str, day: dt.date) -> bool:
        return all(any(self.provision_in_force(i, day) for i in group) for group in self.requirements.get(name, []))

    def rule_periods(self, name: str) -> list[str]:
        """When the texts of each provision a rule names were in force: "45 CFR 164.502(f): 2013-03-26 to today"."""
        found = []
        for group in self.requirements.get(name, []):
            spans = sorted((p for i in group for p in self.periods.get(i, [])), key=lambda p: p.start)
            found.append(f"{self.labels[group[0]]}: " + ", ".join(str(p) for p in spans))
        return found


def _requirements(ontology: Ontology, graph: Graph, rule: Rule) -> list[list[URIRef]]:
    """For each provision the rule names, the texts any of which puts it in force: its own, and earlier ones named."""
    try:
        named = [ontology.provision_by_label(label).iri for label in rule.provisions]
        earlier = [ontology.provision_by_label(label).iri for label in rule.earlier]
    except KeyError as e:
        raise RuleError(f"queries/rules/{rule.name}.rq: {e.args[0]}") from None
    groups = []
    for iri in named:
        above = {iri}
        parent = graph.value(iri, DCTERMS.isPartOf)
        while parent is not None:
            above.add(parent)
            parent = graph.value(parent, DCTERMS.isPartOf)
        groups.append([iri] + [e for e in earlier if graph.value(e, DCTERMS.isVersionOf) in above])
    for e in earlier:
        if not any(e in group for group in groups):
            raise RuleError(
                f"queries/rules/{rule.name}.rq: '#+ earlier:' names {e}, no earlier text of a provision the rule names"
            )
    return groups


@dataclass
class RuleSet:
    """The rules in the order they run, each with its stratum."""

    groups: list[list[Rule]]  # strongly connected groups, in the order they run
    recursive: set[str]
    edges: dict[tuple[str, str], bool]  # (writer, reader) -> whether the reader reads negatively what it writes
    calendar: Calendar | None = None  # when each rule is in force (None: every rule, every day)
    _in_force: dict = field(default_factory=dict, repr=False, compare=False)  # span -> names, computed once

    @property
    def order(self) -> list[Rule]:
        return [rule for group in self.groups for rule in group]

    def by_name(self, name: str) -> Rule:
        return next(r for r in self.order if r.name == name)

    def in_force(self, day: dt.date | None = None) -> frozenset[str]:
        """The names of the rules in force on a day (default: today)."""
        day = day or dt.date.today()
        span = self.calendar.span(day) if self.calendar is not None else 0
        if span not in self._in_force:  # one entry a span of days, however many days are asked about
            names = (r.name for r in self.order if self.calendar is None or self.calendar.rule_in_force(r.name, day))
            self._in_force[span] = frozenset(names)
        return self._in_force[span]


def parse_rule(name: str, text: str, ontology: Ontology) -> Rule:
    header = _header(name, text)
    try:
        query = prepareQuery(text, initNs=PREFIXES)
    except Exception as e:
        raise RuleError(f"queries/rules/{name}.rq: not valid SPARQL: {e}") from None
    algebra = query.algebra
    if algebra.name != "ConstructQuery":
        raise RuleError(f"queries/rules/{name}.rq: a rule must be a CONSTRUCT query")
    template = [tuple(t) for t in algebra.template]
    rule = Rule(name, text, header, _as_select(name, text), template, where=algebra.p)
    _collect_reads(algebra.p, rule.reads, negative=False)
    rule.writes = _writes(template, ontology)
    return rule


def load_rules(ontology: Ontology, folder: str = "rules") -> RuleSet:
    """Every rule under queries/<folder>/, ordered by what they read and write.

    Cached on disk (cache.py), keyed by the rule files, the ontology's files (a rule writes the
    classes above those it names; the calendar reads the provisions), the code that reads them, and
    the networkx version (its algorithms order them): parsing the rules was most of a start-up.
    """
    texts = [(f.name[: -len(".rq")], f.read_text(encoding="utf-8")) for f in query_files(folder)]
    inputs = [(f"{folder}/{name}.rq", text.encode()) for name, text in texts]
    inputs += [*ontology.sources, *_code(), ("networkx", version("networkx").encode())]
    return cached("rules", inputs, lambda: _load(ontology, texts), _size)


def _load(ontology: Ontology, texts: list[tuple[str, str]]) -> RuleSet:
    with RDFLIB_PARSER:
        rules = [parse_rule(name, text, ontology) for name, text in texts]
    ruleset = order_rules(rules)
    ruleset.calendar = Calendar(ontology, rules)
    return ruleset


def _code() -> list[tuple[str, bytes]]:
    """The modules whose code reads the rules: a change to them is a change of the cached value."""
    here = Path(__file__).parent
    return [(name, (here / name).read_bytes()) for name in ("rules.py", "ontology.py", "namespaces.py")]


def _size(value) -> tuple[str, list[int]] | None:
    return ("rules", [len(value.order)]) if isinstance(value, RuleSet) else None


def order_rules(rules: list[Rule]) -> RuleSet:
    import networkx as nx  # only when the rules are not cached

    graph = nx.DiGraph()
    graph.add_nodes_from(r.name for r in rules)
    writers = _Writers(rules)
    after: dict[tuple[int, int], bool] = {}  # (writer, reader) positions -> whether some read is negative
    for j, reader in enumerate(rules):
        for key, negative in reader.reads:
            for i in writers.of(key):
                after[i, j] = after.get((i, j), False) or negative
    for (i, j), negative in sorted(after.items()):  # writer by writer, then reader by reader, as pair by pair
        graph.add_edge(rules[i].name, rules[j].name, negative=negative)
    components = nx.condensation(graph)
    recursive: set[str] = set()
    for component in components.nodes:
        members = components.nodes[component]["members"]
        inner = graph.subgraph(members)
        if len(members) > 1 or any(graph.has_edge(m, m) for m in members):
            recursive |= set(members)
        for a, b, data in inner.edges(data=True):
            if data["negative"]:
                cycle = nx.shortest_path(inner, b, a) + [b] if a != b else [a, a]
                raise RuleError("cycle through negation between rules: " + " -> ".join(cycle))
    by_name = {r.name: r for r in rules}
    for name in recursive:
        if by_name[name].template_bnodes():
            raise RuleError(f"queries/rules/{name}.rq: a recursive rule may not create blank nodes")
    # stratum: how many negative edges lie on the longest path into the rule
    topo = list(nx.lexicographical_topological_sort(components, key=lambda c: min(components.nodes[c]["members"])))
    level: dict[int, int] = {}
    for c in topo:
        members = components.nodes[c]["members"]
        level[c] = 0
        for pred in components.predecessors(c):
            negative = any(
                graph.edges[a, b]["negative"]
                for a in components.nodes[pred]["members"]
                for b in members
                if graph.has_edge(a, b)
            )
            level[c] = max(level[c], level[pred] + (1 if negative else 0))
        for m in members:
            by_name[m].stratum = level[c]
    groups = [[by_name[m] for m in sorted(components.nodes[c]["members"])] for c in topo]
    edges = {(a, b): data["negative"] for a, b, data in graph.edges(data=True)}
    return RuleSet(groups, recursive, edges)


def read_header(text: str) -> dict[str, list[str]]:
    """The ``#+ key: value`` lines of a query file; a line ``#+`` and two or more spaces continues the key above.

    Keys of several values (provision, guidance, data, expect) are split at ``;``.
    """
    header: dict[str, list[str]] = {}
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        continuation = CONTINUATION.match(line)
        match = HEADER.match(line)
        if continuation and header:
            header[list(header)[-1]].append(continuation.group(1).strip())
        elif match:
            key, value = match.group(1), match.group(2).strip()
            if key in MULTI_VALUED:
                header.setdefault(key, []).extend(v.strip() for v in value.split(";") if v.strip())
            else:
                header.setdefault(key, []).append(value)
    return header


def _header(name: str, text: str) -> dict[str, list[str]]:
    """A rule's header: it must have a summary and a provision; guidance names provisions or URLs."""
    header = read_header(text)
    for required in ("summary", "provision"):
        if required not in header:
            raise RuleError(f"queries/rules/{name}.rq: the header has no '#+ {required}:' line")
    for guidance in header.get("guidance", []):
        if not re.match(r"^(hkp:[\w.-]+|https?://\S+)$", guidance):
            raise RuleError(f"queries/rules/{name}.rq: '#+ guidance: {guidance}' names no provision (hkp:...) or URL")
    return header


def _as_select(name: str, text: str) -> str:
    """The rule's WHERE clause as ``SELECT DISTINCT *``, so that every firing keeps its bindings."""
    start = _keyword(text, "CONSTRUCT")
    if start is None:
        raise RuleError(f"queries/rules/{name}.rq: no CONSTRUCT keyword")
    open_at = text.index("{", start)
    depth, i = 0, open_at
    while i < len(text):
        ch = text[i]
        if ch == "<":
            i = text.index(">", i)
        elif ch in "\"'":
            i = text.index(ch, i + 1)
        elif ch == "#":
            i = text.find("\n", i)
            i = len(text) if i < 0 else i
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[:start] + "SELECT DISTINCT *\n" + text[i + 1 :]
        i += 1
    raise RuleError(f"queries/rules/{name}.rq: the CONSTRUCT template is not closed")


def _keyword(text: str, word: str) -> int | None:
    for match in re.finditer(rf"\b{word}\b", text, flags=re.IGNORECASE):
        line_start = text.rfind("\n", 0, match.start()) + 1
        if "#" not in text[line_start : match.start()]:
            return match.start()
    return None


def _collect_reads(node, reads: set, negative: bool) -> None:
    if isinstance(node, CompValue):
        if node.name in ("BGP", "TriplesBlock"):  # inside (NOT) EXISTS rdflib keeps the parser's TriplesBlock
            for key in _pattern_keys(node.triples if node.name == "BGP" else algebra_triples(node.triples)):
                reads.add((key, negative))
            return
        if node.name == "AggregateJoin":  # an aggregate (MAX, COUNT, ...) reads a fact once it is complete
            negative = True
        for key, value in node.items():
            if node.name in ("Builtin_NOTEXISTS", "Builtin_EXISTS") and key == "graph":
                _collect_reads(value, reads, negative or node.name == "Builtin_NOTEXISTS")
            elif node.name == "Minus" and key == "p2" or node.name == "LeftJoin" and key == "p2":
                _collect_reads(value, reads, True)
            else:
                _collect_reads(value, reads, negative)
    elif isinstance(node, list | tuple):
        for item in node:
            _collect_reads(item, reads, negative)


def _collect_iris(node, found: set) -> None:
    """Every IRI anywhere in a query's algebra."""
    if isinstance(node, URIRef):
        found.add(node)
    elif isinstance(node, dict):  # CompValue is a dict
        for value in node.values():
            _collect_iris(value, found)
    elif isinstance(node, list | tuple | set):
        for item in node:
            _collect_iris(item, found)


def _pattern_keys(triples, ontology: Ontology | None = None) -> set[str]:
    """The dependency keys of one basic graph pattern, or of a template (given the ontology)."""
    typed: dict = {}
    for s, p, o in triples:
        if p == RDF.type and isinstance(o, URIRef):
            typed.setdefault(s, set()).add(o)
    if ontology is not None:  # a template also writes every class above the ones it names
        typed = {s: ontology.types_with_ancestors(classes) for s, classes in typed.items()}
    keys = set()
    for s, p, o in triples:
        classes = typed.get(s, set())
        for pred in _predicates(p):
            if pred is None:
                keys.add("*")
            elif pred == RDF.type and isinstance(o, URIRef) and ontology is not None:
                keys |= {f"type:{c}" for c in classes} | {f"type:*@{c}" for c in classes}
            elif pred == RDF.type and isinstance(o, URIRef):
                keys.add(f"type:{o}")
            elif pred == RDF.type:
                keys |= {f"type:*@{c}" for c in classes} or {"type:*"}
            else:
                keys |= {f"{pred}@{c}" for c in classes} or {str(pred)}
    return keys


def _predicates(p) -> list:
    """The predicates a pattern's predicate position may match (None: any)."""
    if isinstance(p, URIRef):
        return [p]
    if isinstance(p, Variable):
        return [None]
    if isinstance(p, PropertyPath):
        found = []
        for attr in ("args", "arg", "path"):
            part = getattr(p, attr, None)
            parts = part if isinstance(part, list) else [part] if part is not None else []
            for item in parts:
                found += _predicates(item)
        return found or [None]
    return [None]


def _writes(template: list[tuple], ontology: Ontology) -> set[str]:
    return _pattern_keys(template, ontology)


class _Writers:
    """The rules that write each key, so that a read finds the writers it matches (``_matches``) without a scan."""

    def __init__(self, rules: list[Rule]):
        self.by_key: dict[str, set[int]] = {}  # a written key -> the positions of its writers
        self.by_predicate: dict[str, set[int]] = {}  # a predicate -> writers of it, with or without a class
        self.unqualified: dict[str, set[int]] = {}  # a predicate -> writers of it without a class
        self.any: set[int] = set()  # writers of some key
        self.types: set[int] = set()  # writers of some ``type:`` key
        for i, rule in enumerate(rules):
            for write in rule.writes:
                self.any.add(i)
                self.by_key.setdefault(write, set()).add(i)
                if write.startswith("type:"):
                    self.types.add(i)
                elif write != "*":
                    predicate, _, cls = write.partition("@")
                    self.by_predicate.setdefault(predicate, set()).add(i)
                    if not cls:
                        self.unqualified.setdefault(predicate, set()).add(i)

    def of(self, read: str) -> set[int]:
        """The positions of the rules that write a key ``read`` matches."""
        if read == "*":
            return self.any
        found = self.by_key.get(read, set()) | self.by_key.get("*", set())
        if read == "type:*":
            found |= self.types
        elif read.startswith("type:*@"):
            found |= self.by_key.get("type:*", set())
        elif not read.startswith("type:"):
            predicate, _, cls = read.partition("@")
            found |= (self.unqualified if cls else self.by_predicate).get(predicate, set())
        return found


def _matches(read: str, write: str) -> bool:
    """Whether a rule that reads key ``read`` must run after one that writes key ``write``."""
    if read == write or read == "*" or write == "*":
        return True
    if read == "type:*":
        return write.startswith("type:")
    if read.startswith("type:*@"):
        return write == "type:*"
    if read.startswith("type:") or write.startswith("type:"):
        return False
    read_pred, _, read_class = read.partition("@")
    write_pred, _, write_class = write.partition("@")
    return read_pred == write_pred and (not read_class or not write_class)
