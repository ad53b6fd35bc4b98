"""Quality checks of the ontology itself, and of the rules against it. They fail the build.

- ``check_ontology``: the shapes of ontology/shapes/ontology.ttl (the header
  checklist; every term a label, a definition and a source; every provision a
  citation, its text and a URL; every superclass declared), superclasses taken
  from other vocabularies (``check_vocabularies``), and the OWL 2 RL profile
  (``check_profile``);
- ``check_queries``: the queries of queries/qc/, which must find nothing, over the
  ontology as written and the rules as data;
- ``check_rules``: every rule cites provisions the ontology describes and names
  only declared terms.

Each returns one line per problem; an empty list means the check passes.
tests/test_ontology_qc.py fails the build on any line, and shows that a broken
term, a dangling superclass, an axiom outside OWL 2 RL and a rule without a
provision each make it fail.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from pyshacl import validate as shacl_validate
from rdflib import OWL, RDF, RDFS, XSD, BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import DCAT, DCTERMS, FOAF, ORG, PROV, SDO, SKOS, TIME

from .namespaces import HK, SH
from .ontology import PROVISION_FILES, Ontology, term_files
from .query import run_query
from .resources import ontology_file, query_files
from .rules import RuleSet


def ontology_graph(extra: Graph | None = None) -> Graph:
    """The ontology as written (terms, decision vocabulary, provisions), not its closure."""
    graph = Graph()
    for name in term_files() + list(PROVISION_FILES):
        graph.parse(data=ontology_file(name).read_text(encoding="utf-8"), format="turtle")
    if extra is not None:
        graph += extra
    return graph


def check_ontology(graph: Graph | None = None) -> list[str]:
    """Every check of the ontology over ``graph`` (default: the shipped ontology as written)."""
    data = graph if graph is not None else ontology_graph()
    return check_shapes(data) + check_vocabularies(data) + check_profile(data) + check_version(data)


def check_shapes(data: Graph) -> list[str]:
    """The results of the ontology shapes (ontology/shapes/ontology.ttl) over ``data``."""
    shapes = Graph().parse(data=ontology_file("shapes", "ontology.ttl").read_text("utf-8"), format="turtle")
    _, report, _ = shacl_validate(data, shacl_graph=shapes, advanced=True, inference="none")
    problems = []
    for result in report.subjects(SH.resultSeverity, None):
        focus = report.value(result, SH.focusNode)
        path = report.value(result, SH.resultPath)
        value = report.value(result, SH.value)
        message = report.value(result, SH.resultMessage)
        where = f"{focus}" + (f" {path}" if path is not None else "")
        problems.append(f"{where}: {message}" + (f" ({value})" if value is not None else ""))
    return sorted(problems)


def check_version(data: Graph) -> list[str]:
    """The ontology's owl:versionInfo and owl:versionIRI say the version of the package (pyproject.toml)."""
    try:
        package = version("hipaa-kg")
    except PackageNotFoundError:  # a checkout that was never installed: nothing to compare with
        return []
    ontology = URIRef(str(HK))
    info, iri = data.value(ontology, OWL.versionInfo), data.value(ontology, OWL.versionIRI)
    problems = []
    if info is not None and str(info) != package:
        problems.append(f"{ontology} owl:versionInfo: {info}, but the package is version {package}")
    if iri is not None and str(iri) != f"{HK}{package}":
        problems.append(f"{ontology} owl:versionIRI: {iri}, but the package is version {package} ({HK}{package})")
    return problems


# --- superclasses from other vocabularies -------------------------------------

# Vocabularies whose terms rdflib knows one by one (closed namespaces): a
# superclass or superproperty taken from one of them must be one of its terms.
KNOWN_VOCABULARIES = (OWL, RDFS, RDF, XSD, PROV, SKOS, DCTERMS, SDO, FOAF, ORG, DCAT, TIME)


def check_vocabularies(data: Graph) -> list[str]:
    """Every superclass or superproperty outside hk: is declared here or is a term of a known vocabulary.

    hk: superclasses are the shapes' business (hkq:SuperClass). A misspelt
    prov:Entiti, or a term of a vocabulary nobody here can check, is dangling.
    """
    problems = []
    for axiom in (RDFS.subClassOf, RDFS.subPropertyOf):
        for sub, sup in data.subject_objects(axiom):
            if not isinstance(sup, URIRef) or sup.startswith(HK) or (sup, RDF.type, None) in data:
                continue
            if not any(sup.startswith(str(ns)) and sup in ns for ns in KNOWN_VOCABULARIES):
                name = data.namespace_manager
                problems.append(
                    f"{sub.n3(name)} {axiom.n3(name)}: {sup.n3(name)} is declared by no ontology file"
                    " and is no term of a known vocabulary"
                )
    return sorted(problems)


# --- the OWL 2 RL profile ------------------------------------------------------
#
# OWL 2 Web Ontology Language Profiles (Second Edition), section 4 "OWL 2 RL",
# https://www.w3.org/TR/owl2-profiles/#OWL_2_RL. Section 4.2 restricts where
# each class constructor may stand (the RDF mapping of each is in brackets):
#
#   subClassExpression   (subclass of rdfs:subClassOf, both sides of owl:disjointWith,
#                         the class of owl:hasKey):
#       a class other than owl:Thing, intersection [owl:intersectionOf], union
#       [owl:unionOf], enumeration [owl:oneOf], ObjectSomeValuesFrom
#       [owl:someValuesFrom] of a subClassExpression or owl:Thing, hasValue
#       [owl:hasValue], DataSomeValuesFrom, DataHasValue;
#   superClassExpression (superclass of rdfs:subClassOf, rdfs:domain, rdfs:range of an
#                         object property, the class of rdf:type):
#       a class other than owl:Thing, intersection, complement [owl:complementOf]
#       of a subClassExpression, ObjectAllValuesFrom [owl:allValuesFrom] of a
#       superClassExpression, hasValue, ObjectMaxCardinality [owl:maxCardinality,
#       owl:maxQualifiedCardinality] 0 or 1 (of a subClassExpression or owl:Thing),
#       DataAllValuesFrom, DataHasValue, DataMaxCardinality 0 or 1;
#   equivClassExpression (both sides of owl:equivalentClass, and a named class that
#                         is itself given an owl:intersectionOf, unionOf, ...):
#       a class other than owl:Thing, intersection of equivClassExpressions, hasValue.
#
# Never in OWL 2 RL: exact and minimum cardinality [owl:cardinality,
# owl:minCardinality, owl:qualifiedCardinality, owl:minQualifiedCardinality],
# self restriction [owl:hasSelf], disjoint union [owl:disjointUnionOf], reflexive
# properties [owl:ReflexiveProperty]. A data range (rdfs:range of a datatype
# property, the filler of a data restriction) is a datatype of section 4.3 or an
# intersection of data ranges: not a complement, enumeration or facet restriction.

RL_DATATYPES = {
    RDF.PlainLiteral, RDF.XMLLiteral, RDFS.Literal,
    XSD.decimal, XSD.integer, XSD.nonNegativeInteger, XSD.nonPositiveInteger, XSD.positiveInteger,
    XSD.negativeInteger, XSD.long, XSD.int, XSD.short, XSD.byte, XSD.unsignedLong, XSD.unsignedInt,
    XSD.unsignedShort, XSD.unsignedByte, XSD.float, XSD.double, XSD.string, XSD.normalizedString, XSD.token,
    XSD.language, XSD.Name, XSD.NCName, XSD.NMTOKEN, XSD.boolean, XSD.hexBinary, XSD.base64Binary, XSD.anyURI,
    XSD.dateTime, XSD.dateTimeStamp,
}  # fmt: skip

# Datatypes outside section 4.3 that the ontology uses knowingly, with the reason.
TOLERATED_DATATYPES = {
    XSD.date: "the regulation and the scenarios speak of calendar days (a date of death, an effective date), "
    "which xsd:dateTime would misstate; OWL 2 has no date datatype, and no rule or inference here depends on "
    "the range: the scenario shapes check the values",
}

NEVER_RL = {
    OWL.cardinality: "an exact cardinality",
    OWL.qualifiedCardinality: "an exact cardinality",
    OWL.minCardinality: "a minimum cardinality",
    OWL.minQualifiedCardinality: "a minimum cardinality",
    OWL.hasSelf: "a self restriction (owl:hasSelf)",
    OWL.disjointUnionOf: "a disjoint union (owl:disjointUnionOf)",
    OWL.datatypeComplementOf: "a datatype complement",
}

WHERE_ALLOWED = {  # constructor: the positions it may stand in
    OWL.intersectionOf: {"sub", "super", "equiv"},
    OWL.hasValue: {"sub", "super", "equiv"},
    OWL.unionOf: {"sub"},
    OWL.oneOf: {"sub"},
    OWL.someValuesFrom: {"sub"},
    OWL.complementOf: {"super"},
    OWL.allValuesFrom: {"super"},
    OWL.maxCardinality: {"super"},
    OWL.maxQualifiedCardinality: {"super"},
}

POSITION = {"sub": "a subclass", "super": "a superclass", "equiv": "an equivalent class"}


def check_profile(data: Graph) -> list[str]:
    """Axioms outside the OWL 2 RL profile, one line each, naming the axiom's subject."""
    problems: list[str] = []
    name = data.namespace_manager

    def report(subject, axiom, message):
        problems.append(f"{subject.n3(name)} {axiom.n3(name)}: {message} is outside OWL 2 RL")

    annotation_properties = set(data.subjects(RDF.type, OWL.AnnotationProperty))
    for s, p, o in data:
        if p in NEVER_RL and isinstance(s, URIRef):  # on a blank node, the axiom that uses it reports it
            report(s, p, NEVER_RL[p])
        elif p == RDF.type and o == OWL.ReflexiveProperty:
            report(s, p, "a reflexive property")
        elif p == RDFS.subClassOf:
            for m in _class(data, s, "sub") + _class(data, o, "super"):
                report(s, p, m)
        elif p == OWL.equivalentClass:
            for m in _class(data, s, "equiv") + _class(data, o, "equiv"):
                report(s, p, m)
        elif p == OWL.disjointWith:
            for m in _class(data, s, "sub") + _class(data, o, "sub"):
                report(s, p, m)
        elif p == OWL.hasKey:
            for m in _class(data, s, "sub"):
                report(s, p, m)
        elif p == RDF.type and isinstance(o, BNode):
            for m in _class(data, o, "super"):
                report(s, p, m)
        elif p in (OWL.intersectionOf, OWL.unionOf, OWL.oneOf, OWL.complementOf) and isinstance(s, URIRef):
            for m in _class(data, s, "equiv"):  # a named class given a definition is an equivalence
                report(s, p, m)
        elif p in (RDFS.domain, RDFS.range) and s not in annotation_properties:
            data_range = p == RDFS.range and ((s, RDF.type, OWL.DatatypeProperty) in data or _is_datatype(data, o))
            for m in _data_range(data, o) if data_range else _class(data, o, "super"):
                report(s, p, m)
    return sorted(set(problems))


def _class(data: Graph, node, position: str, depth: int = 0) -> list[str]:
    """What makes ``node`` no class expression allowed in ``position`` (sub, super or equiv)."""
    if isinstance(node, Literal) or depth > 32:
        return [f"{node} as a class"]
    if node == OWL.Thing:
        return [f"owl:Thing as {POSITION[position]}"]
    found = []
    for constructor, value in data.predicate_objects(node):
        if constructor in NEVER_RL:
            found.append(NEVER_RL[constructor])
            continue
        allowed = WHERE_ALLOWED.get(constructor)
        if allowed is None:
            continue  # not a class constructor: a label, owl:onProperty, ...
        if position not in allowed:
            found.append(f"{constructor.n3(data.namespace_manager)} in {POSITION[position]} expression")
            continue
        if constructor == OWL.intersectionOf:
            for member in Collection(data, value):
                found += _class(data, member, position, depth + 1)
        elif constructor == OWL.unionOf:
            for member in Collection(data, value):
                found += _class(data, member, "sub", depth + 1)
        elif constructor == OWL.complementOf:
            found += _class(data, value, "sub", depth + 1)
        elif constructor == OWL.someValuesFrom and value != OWL.Thing:
            found += _data_range(data, value) if _is_datatype(data, value) else _class(data, value, "sub", depth + 1)
        elif constructor == OWL.allValuesFrom:
            found += _data_range(data, value) if _is_datatype(data, value) else _class(data, value, "super", depth + 1)
        elif constructor in (OWL.maxCardinality, OWL.maxQualifiedCardinality):
            if not isinstance(value, Literal) or str(value) not in ("0", "1"):
                found.append(f"a maximum cardinality of {value} (only 0 or 1)")
            filler = data.value(node, OWL.onClass)
            if filler is not None and filler != OWL.Thing:
                found += _class(data, filler, "sub", depth + 1)
            data_filler = data.value(node, OWL.onDataRange)
            if data_filler is not None:
                found += _data_range(data, data_filler)
    return found


def _is_datatype(data: Graph, node) -> bool:
    if isinstance(node, URIRef):
        return node in RL_DATATYPES or node.startswith(str(XSD)) or (node, RDF.type, RDFS.Datatype) in data
    return (node, RDF.type, RDFS.Datatype) in data or (node, OWL.onDatatype, None) in data


def _data_range(data: Graph, node) -> list[str]:
    """What makes ``node`` no OWL 2 RL data range: a datatype of section 4.3, or an intersection of them."""
    if isinstance(node, URIRef):
        if node in RL_DATATYPES or node in TOLERATED_DATATYPES:
            return []
        reserved = any(node.startswith(str(ns)) for ns in (XSD, RDF, RDFS, OWL))
        declared = (node, RDF.type, RDFS.Datatype) in data
        return [f"the datatype {node.n3(data.namespace_manager)}"] if reserved or not declared else []
    members = data.value(node, OWL.intersectionOf)
    if members is not None:
        return [m for member in Collection(data, members) for m in _data_range(data, member)]
    return ["a data range other than a datatype or an intersection (a facet restriction, complement or enumeration)"]


# --- the QC queries and the rules ----------------------------------------------


def check_queries(graph: Graph) -> list[str]:
    """The rows that the queries of queries/qc/ (each must find nothing) find in ``graph``."""
    problems = []
    for query in query_files("qc"):
        answer = run_query(graph, query.read_text(encoding="utf-8"), f"queries/qc/{query.name}")
        for row in answer.rows:
            problems.append(f"queries/qc/{query.name}: " + " ".join(str(v) for v in row if v is not None))
    return problems


def check_rules(ontology: Ontology, rules: RuleSet) -> list[str]:
    """Every rule cites provisions the ontology describes, and names only declared terms."""
    problems = []
    known = ontology.classes | ontology.properties | set(ontology.closure.subjects())
    for rule in rules.order:
        for label in rule.provisions:
            try:
                ontology.provision_by_label(label)
            except KeyError:
                problems.append(f"queries/rules/{rule.name}.rq: '#+ provision: {label}' is no provision's label")
        for guidance in rule.guidance:
            if guidance not in ontology.provisions:
                problems.append(f"queries/rules/{rule.name}.rq: '#+ guidance: {guidance}' is no provision")
        for term in rule.terms():
            if term not in known and term not in ontology.provisions:
                problems.append(f"queries/rules/{rule.name}.rq: {term} is not declared in the ontology")
    return problems
