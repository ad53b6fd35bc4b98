"""The fuzz corpus: scenario files generated from the grammar of SCENARIOS.md, and broken ones.

A case is a file (its bytes and suffix) and the kind of thing done to it. The
strategies are hypothesis strategies, so that ``bench/fuzz.py`` (thousands of
cases, seeded) and ``tests/test_fuzz.py`` (a small sample in CI) draw from the
same corpus:

- ``generated``: a scenario written from the grammar (parties, party facts,
  acts, information, purposes, circumstances, asOf, context), in YAML, JSON,
  JSON-LD or Turtle;
- the mutations of the issue, each applied to a generated scenario or to one of
  the examples (examples/, tests/scenarios/, ../shared/examples/): dropped keys,
  wrong types, unknown terms, dangling and circular references, duplicate ids,
  huge strings, non-UTF-8 bytes, deeply nested values, YAML anchors and alias
  bombs, JSON-LD keywords misused, Turtle syntax errors, empty files, and
  truncated or corrupted bytes.

Literal values that are not terms or ids (labels, comments, notes, titles,
dates, booleans written as text, values of other vocabularies) carry a marker;
``Case.secrets`` lists the markers, which no error line may echo.
"""

from __future__ import annotations

import copy
import json
import random
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_FOLDERS = (ROOT / "examples", ROOT / "tests" / "scenarios", ROOT.parent / "shared" / "examples")
HK = "https://w3id.org/hipaa-kg/"

# --- the grammar of SCENARIOS.md, section 2 ---------------------------------------


def words(text: str) -> list[str]:
    return text.split()


PARTY_TYPES = words(
    "Individual HealthCareProvider HealthPlan HealthCareClearinghouse CoveredEntity BusinessAssociate "
    "AccountableCareOrganization ValueBasedArrangement OrganizedHealthCareArrangement PublicHealthAuthority "
    "HealthOversightAgency LawEnforcementOfficial Court CoronerOrMedicalExaminer FuneralDirector "
    "OrganProcurementOrganization Researcher Secretary DisasterReliefOrganization Employer "
    "WorkersCompensationInsurer MilitaryCommandAuthority CorrectionalInstitution School GovernmentAgency "
    "Clergy Person Organization"
)
PARTY_LINKS = words(
    "treats enrolledIn hasRelationshipWith participantIn businessAssociateOf hasBusinessAssociateAgreementWith "
    "workforceMemberOf personalRepresentativeOf involvedInCareOf"
)
INFORMATION_TYPES = words(
    "HealthInformation ProtectedHealthInformation PsychotherapyNotes GeneticInformation SubstanceUseDisorderRecord "
    "LimitedDataSet DeidentifiedInformation EmploymentRecord EducationRecord"
)
PURPOSES = words(
    "Treatment Payment HealthCareOperations QualityAssessment PopulationHealth CareCoordination CompetenceReview "
    "PerformanceEvaluation TrainingProgram Accreditation Underwriting MedicalReviewLegalAuditing "
    "FraudAndAbuseDetection BusinessPlanning BusinessManagement Fundraising Marketing Research PublicHealthActivity "
    "ChildAbuseReporting AbuseNeglectReporting HealthOversight JudicialProceeding LawEnforcement CoronerDuties "
    "FuneralServices OrganDonation AvertSeriousThreat SpecializedGovernmentFunction WorkersCompensation "
    "ComplianceInvestigation FacilityDirectory InvolvementInCare Notification DisasterRelief Whistleblowing"
)
CIRCUMSTANCES = words(
    "authorized requestedByIndividual requiredByLaw individualPresent individualAgreed individualObjected "
    "individualIncapacitated emergency courtOrdered subpoena satisfactoryAssurance qualifiedProtectiveOrder "
    "searchWarrant grandJurySubpoena administrativeRequest authorizedByLaw crimeOnPremises legalActionByIndividual "
    "standardTransaction irbWaiver dataUseAgreement faceToFace nominalValueGift remuneration seriousThreat incidental"
)
REFERENCES = (*PARTY_LINKS, "actor", "recipient", "about", "createdBy", "forActivitiesOf", "information")
TERM_KEYS = ("type", "purpose", "@type")
ID_KEYS = ("id", "@id", *REFERENCES)
LITERAL_KEYS = ("title", "note", "label", "comment", "dateOfDeath", "asOf", "ex:notes", "ex:name")
SUFFIXES = (".yaml", ".json", ".jsonld", ".ttl")

KINDS = (
    "generated",
    "dropped-key",
    "wrong-type",
    "unknown-term",
    "dangling-reference",
    "circular-reference",
    "duplicate-id",
    "huge-string",
    "non-utf8",
    "deep-nesting",
    "yaml-alias",
    "jsonld-keyword",
    "turtle-syntax",
    "empty",
    "corrupted",
)


@dataclass(frozen=True)
class Case:
    """One file to decide: its kind, its bytes, and the markers no error line may echo."""

    kind: str
    base: str  # "generated" or the example file it mutates
    suffix: str
    data: bytes
    secrets: tuple[str, ...] = ()


class Marks:
    """Markers planted in literal values: distinctive strings that no error message may repeat."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.planted: list[str] = []

    def new(self, prefix: str = "Phi", secret: bool = True) -> str:
        """A marker; ``secret=False`` for one written where a term or an id goes (which errors may name)."""
        mark = f"{prefix}{self.rng.randrange(10**9):09d}Zq"
        if secret:
            self.planted.append(mark)
        return mark


# --- generated scenarios ---------------------------------------------------------------


LINK_TARGETS = {  # the kind of node each party fact names, when the generator plays by the rules
    "treats": "Individual",
    "hasRelationshipWith": "Individual",
    "personalRepresentativeOf": "Individual",
    "involvedInCareOf": "Individual",
    "enrolledIn": "HealthPlan",
    "participantIn": "AccountableCareOrganization",
}


def generate(rng: random.Random, marks: Marks) -> dict:
    """A scenario mapping written from the grammar: mostly well formed, the terms chosen at random."""
    names = rng.sample(["clinic", "plan", "patient", "p1", "p2", "vendor", "hhs", "x", "a.b", "n_3", "Org-7"], 6)
    individual, *parties = names[: rng.randint(2, 5)]
    facts: list[dict] = [{"id": individual, "type": "Individual"}]
    if rng.random() < 0.3:
        facts[0]["minor" if rng.random() < 0.5 else "deceased"] = rng.random() < 0.5
    if rng.random() < 0.15:
        facts[0]["dateOfDeath"] = f"{rng.randint(1900, 2030)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    everyone = [individual, *parties]
    extra: list[dict] = []
    for party in parties:
        types = rng.sample(PARTY_TYPES, rng.choice((1, 1, 1, 2)))
        node: dict = {"id": party, "type": types[0] if len(types) == 1 else types}
        for link in rng.sample(PARTY_LINKS, rng.choice((0, 1, 1, 2))):
            target = LINK_TARGETS.get(link)
            if target == "Individual" and rng.random() < 0.9:
                node[link] = individual
            elif target and rng.random() < 0.9:
                node[link] = names[-1]
                extra = [{"id": names[-1], "type": target}]
            else:
                node[link] = rng.choice(everyone)
        if rng.random() < 0.6:
            node["transmitsStandardTransactions"] = rng.random() < 0.8
        if rng.random() < 0.2:
            node["label"] = marks.new()
        facts.append(node)
    parties = parties or [individual]
    for n in range(rng.choice((1, 1, 1, 2))):
        act: dict = {
            "id": f"d{n + 1}",
            "type": rng.choice(("Disclosure", "Disclosure", "Use")),
            "actor": rng.choice(parties),
            "information": {"type": rng.choice(INFORMATION_TYPES), "about": individual},
        }
        if rng.random() < 0.1:
            del act["information"]["type"]
        if rng.random() < 0.1:
            act["information"]["createdBy"] = rng.choice(everyone)
        if act["type"] == "Disclosure" or rng.random() < 0.05:
            act["recipient"] = rng.choice(everyone)
        if rng.random() < 0.9:
            act["purpose"] = rng.choice(PURPOSES)
        if rng.random() < 0.2:
            act["forActivitiesOf"] = rng.choice(everyone)
        for circumstance in rng.sample(CIRCUMSTANCES, rng.choice((0, 0, 1, 2, 3))):
            act[circumstance] = rng.random() < 0.7
        if rng.random() < 0.2:
            act["comment"] = marks.new()
        facts.append(act)
    facts += extra
    rng.shuffle(facts)
    scenario: dict = {}
    if rng.random() < 0.5:
        scenario["title"] = marks.new("Title")
    if rng.random() < 0.3:
        scenario["asOf"] = f"{rng.randint(1990, 2040)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    if rng.random() < 0.1:
        scenario["note"] = marks.new()
    if rng.random() < 0.15:
        scenario["context"] = {"ex": "https://example.org/vocabulary/"}
        rng.choice(facts)["ex:notes"] = marks.new()
    scenario["facts"] = facts
    if rng.random() < 0.2:
        scenario["expect"] = {"d1": {"decision": rng.choice(("permitted", "required", "prohibited"))}}
    return scenario


# --- writing a mapping in each format ------------------------------------------------------


def write(scenario, suffix: str) -> bytes:
    """The mapping as a file of the suffix's format; anything that cannot be written so is written as YAML."""
    if suffix == ".yaml":
        return yaml.safe_dump(scenario, sort_keys=False, allow_unicode=True, width=10**6).encode("utf-8")
    if suffix == ".json":
        return json.dumps(scenario, ensure_ascii=False, default=str).encode("utf-8")
    facts = scenario.get("facts") if isinstance(scenario, dict) else scenario
    if suffix == ".jsonld":
        doc: dict = {"@graph": facts}
        if isinstance(scenario, dict) and "context" in scenario:
            doc["@context"] = scenario["context"]
        return json.dumps(doc, ensure_ascii=False, default=str).encode("utf-8")
    return turtle(facts).encode("utf-8")


def turtle(facts) -> str:
    """Facts as Turtle with full IRIs (ids relative to a base), whatever shape the values have."""
    lines = [
        "@base <https://example.org/scenario/> .",
        f"@prefix hk: <{HK}> .",
        "@prefix ex: <https://example.org/vocabulary/> .",
        "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .",
        "",
    ]
    for node in facts if isinstance(facts, list) else [facts]:
        if isinstance(node, dict):
            subject = f"<{node['id']}>" if isinstance(node.get("id"), str) else "[]"
            lines.append(f"{subject} {_ttl_properties(node)} .")
        else:
            lines.append(f"[] hk:value {_ttl_value('value', node)} .")
    return "\n".join(lines) + "\n"


def _ttl_properties(node: dict) -> str:
    parts = []
    for key, value in node.items():
        if key in ("id", "@id"):
            continue
        values = value if isinstance(value, list) else [value]
        objects = [_ttl_value(key, v) for v in values if v is not None]
        if objects:
            predicate = "a" if key in ("type", "@type") else _ttl_predicate(key)
            parts.append(f"{predicate} {', '.join(objects)}")
    return " ; ".join(parts) or "hk:empty true"


def _ttl_predicate(key: str) -> str:
    if key.startswith("ex:"):
        return key
    if key in ("label", "comment"):
        return f"<http://www.w3.org/2000/01/rdf-schema#{key}>"
    return f"hk:{key}" if re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", key) else f"<{HK}{key}>"


def _ttl_value(key: str, value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if value == value and abs(value) != float("inf") else '"NaN"^^xsd:double'
    if isinstance(value, dict):
        return "[ " + _ttl_properties(value) + " ]"
    if isinstance(value, list):
        return "( " + " ".join(_ttl_value(key, v) for v in value) + " )"
    text = str(value)
    if key in ("type", "@type", "purpose"):
        return f"hk:{text}" if re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", text) else f"<{HK}{text}>"
    if key in REFERENCES:
        return f"<{text}>"
    literal = json.dumps(text, ensure_ascii=False)
    return literal + ("^^xsd:date" if key in ("dateOfDeath", "asOf") else "")


# --- the examples -------------------------------------------------------------------------


@cache
def examples() -> tuple[tuple[str, str, str], ...]:
    """(name, suffix, text) of every example and test scenario."""
    found = []
    for folder in EXAMPLE_FOLDERS:
        for path in sorted(folder.glob("*")) if folder.is_dir() else ():
            if path.suffix in (".yaml", ".jsonld", ".ttl"):
                found.append((f"{folder.name}/{path.name}", path.suffix, path.read_text(encoding="utf-8")))
    return tuple(found)


def example_mapping(rng: random.Random) -> tuple[str, dict]:
    """A YAML or JSON-LD example read as a mapping (Turtle examples are only mutated as text)."""
    name, suffix, text = rng.choice([e for e in examples() if e[1] != ".ttl"])
    data = json.loads(text) if suffix == ".jsonld" else yaml.safe_load(text)
    if suffix == ".jsonld":  # the JSON-LD example as the YAML language writes it
        data = {"context": data.get("@context", {}), "facts": data["@graph"]}
    return name, data


# --- walking a scenario ----------------------------------------------------------------


def slots(value, path=()):
    """Every (container, key) in a nested structure, with the key's path."""
    if isinstance(value, dict):
        for key in list(value):
            yield value, key, path + (key,)
            yield from slots(value[key], path + (key,))
    elif isinstance(value, list):
        for index in range(len(value)):
            yield value, index, path + (index,)
            yield from slots(value[index], path + (index,))


def fact_nodes(scenario) -> list[dict]:
    """The mappings that are nodes: facts and nested information nodes."""
    facts = scenario.get("facts") if isinstance(scenario, dict) else None
    found = []
    for node in facts if isinstance(facts, list) else []:
        if isinstance(node, dict):
            found.append(node)
            found.extend(v for v in node.values() if isinstance(v, dict))
    return found


def ids(scenario) -> list[str]:
    return [n["id"] for n in fact_nodes(scenario) if isinstance(n.get("id"), str)]


def key_name(key) -> str:
    return key if isinstance(key, str) else ""


def is_literal_slot(path) -> bool:
    """A value a person wrote about someone (not a term, an id or a structural key)."""
    keys = [k for k in path if isinstance(k, str)]
    return bool(keys) and keys[-1] in LITERAL_KEYS + tuple(CIRCUMSTANCES) + ("minor", "deceased")


# --- mutations of a mapping ----------------------------------------------------------------


def drop_key(rng, scenario, marks):
    found = [(c, k) for c, k, _ in slots(scenario) if isinstance(c, dict)]
    if found:
        container, key = rng.choice(found)
        del container[key]
    return scenario


def wrong_value(rng: random.Random, marks: Marks, literal: bool):
    choices = [
        lambda: rng.randint(-(10**6), 10**6),
        lambda: 10**400,
        lambda: rng.random() * 1e300,
        lambda: float("nan"),
        lambda: float("inf"),
        lambda: rng.random() < 0.5,
        lambda: None,
        lambda: [],
        lambda: {},
        lambda: [1, "two", {"three": 3}],
        lambda: {"id": "nested", "type": "Individual"},
        lambda: {"@value": "2025-02-30", "@type": "xsd:date"},
        lambda: "2025-02-30",
        lambda: "yes",
        lambda: "",
        lambda: " \t\n ",
        lambda: "line one\nline two\r\nthree\x00four\x1b[31m",
        lambda: "http://example.org/" + "x" * 10,
        lambda: "urn:x:" + marks.new(secret=literal),
        lambda: marks.new() if literal else "Unknown" + str(rng.randrange(1000)),
    ]
    return rng.choice(choices)()


def wrong_type(rng, scenario, marks):
    found = list(slots(scenario))
    if not found:
        return wrong_value(rng, marks, True)
    container, key, path = rng.choice(found)
    container[key] = wrong_value(rng, marks, is_literal_slot(path))
    return scenario


def mangle(rng: random.Random, term: str) -> str:
    choices = [
        lambda: term.lower(),
        lambda: term.upper(),
        lambda: term[:-1] if len(term) > 1 else term + "x",
        lambda: term + "s",
        lambda: term.replace("e", "a", 1),
        lambda: "ex:" + term,
        lambda: HK + term + "Ish",
        lambda: rng.choice(("Purpose", "Party", "Act", "Thing", "owl:Thing", "rdfs:Class", "hk:Purpose")),
        lambda: rng.choice(("Treatment", "Individual", "Disclosure", "actor", "about", "ProtectedHealthInformation")),
        lambda: "Tréatment",
        lambda: "_:blank",
        lambda: "@id",
    ]
    return rng.choice(choices)()


def unknown_term(rng, scenario, marks):
    terms = [(c, k) for c, k, p in slots(scenario) if key_name(p[-1]) in TERM_KEYS or key_name(k) in REFERENCES]
    if terms and rng.random() < 0.6:
        container, key = rng.choice(terms)
        value = container[key]
        if isinstance(value, str) and key_name(key) in TERM_KEYS:
            container[key] = mangle(rng, value)
            return scenario
    nodes = fact_nodes(scenario) or ([scenario] if isinstance(scenario, dict) else [])
    if nodes:
        node = rng.choice(nodes)
        keys = [k for k in node if isinstance(k, str)]
        if keys and rng.random() < 0.7:
            old = rng.choice(keys)
            node[mangle(rng, old)] = node.pop(old)
        else:
            node[rng.choice(("treatz", "ex:unknown", "name", "Treatment", "hk:notAProperty"))] = marks.new()
    return scenario


def dangling(rng, scenario, marks):
    refs = [(c, k) for c, k, _ in slots(scenario) if isinstance(c, dict) and key_name(k) in REFERENCES]
    if refs:
        container, key = rng.choice(refs)
        container[key] = rng.choice(("nobody", "d9", "https://example.org/elsewhere", "_:b0", "ex:x", "a b"))
    return scenario


def circular(rng, scenario, marks):
    nodes = [n for n in fact_nodes(scenario) if isinstance(n.get("id"), str)]
    if not nodes:
        return scenario
    node = rng.choice(nodes)
    other = rng.choice(nodes)
    key = rng.choice(REFERENCES)
    node[key] = node["id"] if rng.random() < 0.5 else other["id"]
    if rng.random() < 0.5:
        other[key] = node["id"]
    info = node.get("information")
    if isinstance(info, dict) and rng.random() < 0.5:
        info["id"] = node["id"] if rng.random() < 0.5 else "info"
        info["about"] = info["id"]
    return scenario


def duplicate_id(rng, scenario, marks):
    facts = scenario.get("facts") if isinstance(scenario, dict) else None
    nodes = [n for n in facts if isinstance(n, dict)] if isinstance(facts, list) else []
    if not nodes:
        return scenario
    node = rng.choice(nodes)
    twin = copy.deepcopy(rng.choice(nodes))
    twin["id"] = node.get("id", "x")
    if rng.random() < 0.5:
        twin["type"] = rng.choice(PARTY_TYPES + ["Use", "Disclosure"])
    facts.insert(rng.randrange(len(facts) + 1), twin)
    info = node.get("information")
    if isinstance(info, dict) and rng.random() < 0.3:
        info["id"] = rng.choice(ids(scenario) or ["x"])
    return scenario


def huge_string(rng, scenario, marks):
    size = rng.choice((10_000, 100_000, 1_000_000))
    found = list(slots(scenario))
    if not found:
        return marks.new() * (size // 12)
    container, key, path = rng.choice(found)
    if is_literal_slot(path):
        container[key] = marks.new() * (size // 12)
    else:
        container[key] = rng.choice("xyZ9") * size
    if rng.random() < 0.2 and isinstance(container, dict):
        container["k" * size] = True
    return scenario


def jsonld_keyword(rng, scenario, marks):
    nodes = fact_nodes(scenario)
    if not nodes:
        return scenario
    node = rng.choice(nodes)
    choices = [
        lambda: node.__setitem__("@id", rng.choice((5, [], {}, ["a", "b"], None, "", "a\nb", "_:b1", " "))),
        lambda: node.__setitem__("id", rng.choice((5, [], {}, None, True, "", "a\nb", "-x", "#frag", "a/b"))),
        lambda: node.__setitem__("@type", rng.choice(({"@id": "x"}, 5, [None], "@id", "@json"))),
        lambda: node.__setitem__("type", rng.choice(({"@id": "x"}, 5, [], [{"a": 1}], "@vocab", ""))),
        lambda: node.__setitem__("actor", {"@list": ["a", "b"]}),
        lambda: node.__setitem__("about", {"@value": marks.new(), "@language": "en"}),
        lambda: node.__setitem__("dateOfDeath", {"@value": marks.new(), "@type": "xsd:date"}),
        lambda: node.__setitem__("@reverse", {"treats": {"id": "someone"}}),
        lambda: node.__setitem__("@reverse", marks.new()),
        lambda: node.__setitem__("@graph", [{"id": "inner", "type": "Individual"}]),
        lambda: node.__setitem__("@included", [{"id": "inc", "type": "Individual"}]),
        lambda: node.__setitem__("@context", {"@vocab": "https://example.org/other/"}),
        lambda: node.__setitem__("@context", {"treats": {"@id": 5}}),
        lambda: node.__setitem__("@context", {"@version": 2.0}),
        lambda: node.__setitem__("@context", {"@protected": True, "id": "@type"}),
        lambda: node.__setitem__("@context", [None, {"x": None}]),
        lambda: node.__setitem__("@context", {"treats": {"@reverse": "hk:treats"}}),
        lambda: node.__setitem__("@context", {"label": {"@id": "rdfs:label", "@container": "@list"}}),
        lambda: node.__setitem__("@context", {"purpose": {"@type": "@json"}}),
        lambda: node.__setitem__("@nest", {"treats": "x"}),
        lambda: node.__setitem__("@index", 5),
        lambda: node.__setitem__("@value", marks.new()),
        lambda: node.__setitem__("@language", "not a language"),
        lambda: node.__setitem__("@direction", "sideways"),
    ]
    rng.choice(choices)()
    if rng.random() < 0.2 and isinstance(scenario, dict):
        scenario["context"] = rng.choice(
            (
                {"@vocab": 5},
                {"@base": "relative"},
                {"hk": None},
                {"@import": {"a": 1}},
                {"@propagate": "yes"},
                {"Treatment": "@type"},
                {"@context": {}},
                {"ex": "not an iri"},
            )
        )
    return scenario


MAPPING_MUTATIONS = {
    "dropped-key": drop_key,
    "wrong-type": wrong_type,
    "unknown-term": unknown_term,
    "dangling-reference": dangling,
    "circular-reference": circular,
    "duplicate-id": duplicate_id,
    "huge-string": huge_string,
    "jsonld-keyword": jsonld_keyword,
}


# --- mutations of text -----------------------------------------------------------------


def nested(depth: int, suffix: str, rng: random.Random) -> str:
    """A value nested ``depth`` levels: lists or mappings, in the suffix's syntax."""
    if suffix == ".ttl":
        if rng.random() < 0.5:
            return "( " * depth + "1" + " )" * depth
        return "[ hk:part " * depth + "1" + " ]" * depth
    if rng.random() < 0.5:
        return "[" * depth + "1" + "]" * depth
    key = '"a"' if suffix != ".yaml" else "a"
    return ("{" + key + ": ") * depth + "1" + "}" * depth


def deep_nesting(rng: random.Random, scenario, suffix: str) -> bytes:
    """The scenario with one more node whose value is nested up to 200,000 levels."""
    depth = rng.choice((5, 31, 32, 33, 200, 990, 1100, 5000, 200_000))
    value = nested(depth, suffix, rng)
    if suffix == ".ttl":
        return write(scenario, suffix) + f"\n<deep> a hk:Individual ; hk:nested {value} .\n".encode()
    marker = "NESTED_VALUE_HERE"
    if isinstance(scenario, dict) and isinstance(scenario.get("facts"), list):
        scenario["facts"].append({"id": "deep", "type": "Individual", "nested": marker})
    text = write(scenario, suffix).decode("utf-8")
    return text.replace(marker if suffix == ".yaml" else json.dumps(marker), value).encode("utf-8")


def alias_bomb(rng: random.Random, marks: Marks) -> str:
    width, levels = rng.choice(((9, 9), (10, 6), (2, 40), (3, 12), (50, 3)))
    lines = ["a0: &a0 [" + ", ".join(["x"] * width) + "]"]
    for n in range(1, levels):
        lines.append(f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * width) + "]")
    return "\n".join(lines) + f"\nfacts: [{{id: b, type: Individual, label: *a{levels - 1}}}]\n"


def yaml_alias(rng: random.Random, text: str, marks: Marks) -> str:
    """Anchors and aliases: bombs, recursion, undefined aliases, shared and merged nodes."""
    choices = [
        lambda: alias_bomb(rng, marks),
        lambda: "facts: &f\n  - &n {id: loop, type: Individual, treats: *n}\n  - *f\n",
        lambda: "facts: &f [*f]\n",
        lambda: "title: &t " + marks.new() + "\nfacts: [{id: a, type: Individual, label: *t, comment: *t}]\n",
        lambda: "facts:\n  - {id: a, type: *nowhere}\n",
        lambda: text.replace("facts:\n", "facts:\n- &shared {id: shared, type: Individual}\n- *shared\n", 1),
        lambda: "base: &b {type: HealthCareProvider}\n" + text,
        lambda: text.replace("- id:", "- <<: {type: Person, label: " + marks.new() + "}\n  id:", 1),
        lambda: "facts:\n  - &x {id: a, type: Individual}\n  - &x {id: b, type: Individual}\n  - *x\n",
        lambda: "facts: [{id: a, type: !!python/object:os.system Individual}]\n",
        lambda: "facts: [{id: a, type: Individual, label: !!binary aGVsbG8=}]\n",
        lambda: "facts: [{id: a, type: Individual, dateOfDeath: !!timestamp 2020-01-01}]\n",
        lambda: "facts: [{id: a, type: Individual, ? [1, 2] : x}]\n",
        lambda: "facts: !!set {a, b}\n",
        lambda: "%YAML 1.1\n%TAG ! tag:example.org,2000:\n---\n" + text,
        lambda: text + "\n---\nfacts: []\n",
    ]
    return rng.choice(choices)()


TURTLE_NOISE = list(".;,[]()<>\"'@^:_#\\{}=!") + ["a", "hk:", '"""', "^^", "@prefix", "true", "\x00", "\u2028"]


def turtle_syntax(rng: random.Random, text: str, marks: Marks) -> str:
    """A Turtle file with one syntax error (or what looks like one)."""
    choices = [
        lambda: _splice(rng, text, ""),
        lambda: _splice(rng, text, rng.choice(TURTLE_NOISE)),
        lambda: text[: rng.randrange(len(text) + 1)],
        lambda: text.replace(" .", " ;", 1),
        lambda: text.replace("@prefix hk:", "@prefix hq:", 1),
        lambda: text + f'\n<a> hk:note "{marks.new()}\n',
        lambda: text + f'\n<a> hk:note """{marks.new()}\n',
        lambda: text + f"\n<a b> hk:note <{marks.new()} x> .\n",
        lambda: text + f'\n<a> hk:note "{marks.new()}\\q" .\n',
        lambda: text + f'\n<a> hk:dateOfDeath "{marks.new()}"^^xsd:date .\n',
        lambda: text + f'\n<a> hk:minor "{marks.new()}"^^<http://www.w3.org/2001/XMLSchema#boolean> .\n',
        lambda: text + "\n<a> hk:n 1.2.3 .\n",
        lambda: text + f'\n"{marks.new()}" hk:x <a> .\n',
        lambda: text + "\n{ <a> hk:x <b> } => { <a> hk:y <b> } .\n",
        lambda: text + "\nPREFIX zz: <https://example.org/zz/>\nzz:a a zz:B .\n",
        lambda: text + "\n@base <relative/> .\n<x> a hk:Individual .\n",
        lambda: text + "\nundefined:a a hk:Individual .\n",
        lambda: text + f'\n<a> hk:x "{marks.new()}"@not-a-language!! .\n',
        lambda: text + "\n<a> hk:x <\\u0000> .\n<b\\u000Ac> a hk:Individual .\n",
        lambda: text + "\n_:b hk:x _:b .\n[ ] .\n",
        lambda: text + f'\n<a> hk:label "{marks.new()}"^^xsd:integer .\n',
    ]
    return rng.choice(choices)()


def _splice(rng: random.Random, text: str, insert: str) -> str:
    at = rng.randrange(len(text) + 1)
    return text[:at] + insert + text[at + (1 if not insert else 0) :]


EMPTY = (
    "",
    " ",
    "\n\n",
    "---\n",
    "...\n",
    "null\n",
    "~\n",
    "[]\n",
    "{}\n",
    "# only a comment\n",
    "\ufeff",
    "facts:\n",
    "facts: []\n",
    "facts: {}\n",
    "title: only a title\n",
    '""',
    "0",
    "\x00",
    "@prefix hk: <https://w3id.org/hipaa-kg/> .\n",
    '{"@graph": []}',
    '{"@context": {}}',
    '{"@context": null, "@graph": null}',
)


def non_utf8(rng: random.Random, data: bytes) -> bytes:
    choices = [
        lambda: _insert(rng, data, rng.choice((b"\xff", b"\xfe\xff", b"\xc3", b"\xed\xa0\x80", b"\x80", b"\xf8\x88"))),
        lambda: data.decode("utf-8").encode("utf-16"),
        lambda: data.decode("utf-8").replace("a", "é").encode("latin-1", "replace"),
        lambda: b"\xef\xbb\xbf" + data,
        lambda: data.decode("utf-8").encode("utf-32"),
        lambda: data[: rng.randrange(len(data) + 1)] + "é".encode()[:1],
    ]
    return rng.choice(choices)()


def _insert(rng: random.Random, data: bytes, insert: bytes) -> bytes:
    at = rng.randrange(len(data) + 1)
    return data[:at] + insert + data[at:]


def corrupted(rng: random.Random, data: bytes) -> bytes:
    if rng.random() < 0.4:
        return data[: rng.randrange(len(data) + 1)]
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        if out:
            out[rng.randrange(len(out))] = rng.choice(b" \t\n:-[]{},'\"&*!|>%@#`\\\x00abc01")
    return bytes(out)


# --- one case ----------------------------------------------------------------------------------


def make_case(kind: str, suffix: str, seed: int, from_example: bool) -> Case:
    """The case of this kind, format and seed: a pure function of its arguments."""
    return build_case(kind, suffix, random.Random(seed), from_example)


def build_case(kind: str, suffix: str, rng: random.Random, from_example: bool) -> Case:
    """A case whose every choice ``rng`` makes (a seeded Random, or hypothesis's own)."""
    marks = Marks(rng)
    if from_example:
        base, scenario = example_mapping(rng)
    else:
        base, scenario = "generated", generate(rng, marks)
    if kind in MAPPING_MUTATIONS:
        for _ in range(rng.choice((1, 1, 1, 2))):
            scenario = MAPPING_MUTATIONS[kind](rng, scenario, marks)
        data = write(scenario, suffix)
    elif kind == "turtle-syntax":
        suffix = ".ttl"
        texts = [t for _, s, t in examples() if s == ".ttl"]
        text = rng.choice(texts) if from_example and texts else write(scenario, ".ttl").decode()
        data = turtle_syntax(rng, text, marks).encode("utf-8")
    elif kind == "yaml-alias":
        suffix = ".yaml"
        data = yaml_alias(rng, write(scenario, ".yaml").decode(), marks).encode("utf-8")
    elif kind == "deep-nesting":
        data = deep_nesting(rng, scenario, suffix)
    elif kind == "non-utf8":
        data = non_utf8(rng, write(scenario, suffix))
    elif kind == "empty":
        base, data = "empty", rng.choice(EMPTY).encode("utf-8")
    elif kind == "corrupted":
        data = corrupted(rng, write(scenario, suffix))
    else:
        data = write(scenario, suffix)
    return Case(kind, base, suffix, data, tuple(marks.planted))


@st.composite
def cases(draw, kinds: tuple[str, ...] = KINDS) -> Case:
    """A hypothesis strategy for one case; every choice inside it is hypothesis's, so failures shrink."""
    kind = draw(st.sampled_from(kinds))
    suffix = draw(st.sampled_from(SUFFIXES))
    from_example = draw(st.booleans())
    return build_case(kind, suffix, draw(st.randoms(use_true_random=False)), from_example)
