"""Hostile input: bounded resources, and nothing is ever fetched from the network."""

import subprocess
import sys
import textwrap

import pytest
from conftest import ROOT

from reasoner.errors import ScenarioError
from reasoner.scenario import Limits, _plain, load

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
    examples = sorted(str(p) for p in (ROOT / "examples").glob("*") if p.suffix in (".yaml", ".jsonld", ".ttl"))[:6]
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


# --- what the fuzzer found (bench/fuzz.py): each case gave a traceback, a hang or a stray line ----


@pytest.fixture
def evaluate(reasoner, monkeypatch, capsys):
    """``hipaa-kg evaluate --format json FILE`` in process, with the session's reasoner: (status, stdout, stderr)."""
    from reasoner import cli

    monkeypatch.setattr(cli, "Reasoner", lambda **options: reasoner)

    def run(path, *options):
        status = cli.main(["evaluate", "--format", "json", *options, str(path)])
        out, err = capsys.readouterr()
        return status, out, err

    return run


def one_error_line(path, err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"hipaa-kg: {path}"), err
    return lines[0]


def test_a_yaml_alias_cycle_is_refused_at_once(tmp_path):
    """An alias inside its own anchor made a cycle that the line index walked for ever (fuzz case 148)."""
    path = tmp_path / "cycle.yaml"
    path.write_text("facts: &f\n  - &n {id: loop, type: Individual, treats: *n}\n  - *f\n")
    with pytest.raises(ScenarioError, match="HIPAA_KG_MAX"):
        load(path)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("deep.json", '{"facts": ' + "[" * 100_000 + "]" * 100_000 + "}"),
        ("deep.jsonld", '{"@graph": ' + "[" * 100_000 + "]" * 100_000 + "}"),
        ("deep.yaml", "facts: " + "[" * 100_000 + "]" * 100_000 + "\n"),
        ("deep.ttl", "<a> <b> " + "( " * 100_000 + " )" * 100_000 + " .\n"),
    ],
    ids=["json", "jsonld", "yaml", "turtle"],
)
def test_nesting_deeper_than_python_recurses_is_one_line(evaluate, tmp_path, name, text):
    """Parsers recurse: nesting past Python's recursion limit was an internal error (exit 3)."""
    path = tmp_path / name
    path.write_text(text)
    status, _, err = evaluate(path)
    assert status == 2
    assert "nested" in one_error_line(path, err)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        (
            "date.json",
            '{"facts": [{"id": "p", "type": "Individual", '
            '"dateOfDeath": {"@value": "2025-02-30", "@type": "xsd:date"}}]}',
        ),
        (
            "boolean.ttl",
            "@prefix hk: <https://w3id.org/hipaa-kg/> .\n"
            '<p> a hk:Individual ; hk:minor "maybe"^^<http://www.w3.org/2001/XMLSchema#boolean> .\n',
        ),
        ("iri.yaml", "facts: [{id: p, type: 'Indi`vidual'}]\n"),
    ],
    ids=["date", "boolean", "iri"],
)
def test_rdflib_says_nothing_about_ill_typed_values(evaluate, tmp_path, name, text):
    """rdflib logged a traceback quoting an ill-typed date, or warned with a boolean's text, on standard error."""
    path = tmp_path / name
    path.write_text(text)
    status, _, err = evaluate(path)
    assert status in (0, 1, 2)
    assert all(line.startswith(f"hipaa-kg: {path}") for line in err.splitlines()), err
    assert "2025-02-30" not in err and "maybe" not in err and "Traceback" not in err


def test_turtle_errors_do_not_quote_the_file(evaluate, tmp_path):
    """rdflib's message shows the text around the error; the line names only the line and the problem."""
    path = tmp_path / "bad.ttl"
    path.write_text('<a> <b> "SECRET" "x" .\n')
    status, _, err = evaluate(path)
    assert status == 2
    assert "SECRET" not in one_error_line(path, err) and ":1: not valid Turtle: expected '.'" in err


def test_an_assertion_in_the_turtle_parser_does_not_show_the_text(evaluate, tmp_path):
    """rdflib asserts 'Quote expected in string at ^ in ...', with the text after the quote (fuzz case 3244)."""
    path = tmp_path / "quote.ttl"
    path.write_text('<https://example.org/p> <https://example.org/notes> "SECRET')
    status, _, err = evaluate(path)
    assert status == 2
    assert "SECRET" not in one_error_line(path, err) and "not valid Turtle" in err


def test_parser_messages_keep_syntax_and_drop_quoted_text():
    assert _plain("expected '.' or '}' at end") == "expected '.' or '}' at end"
    assert _plain("invalid literal for int(): 'Jane Roe'") == "invalid literal for int(): '...'"
    assert _plain("bad string literal hex escape: 12G4") == "bad string literal hex escape"
    assert _plain("Unicode error appending characters e9 to string, because\n\tx") == (
        "Unicode error appending characters to string, because x"
    )
    assert len(_plain("x" * 1000)) == 160


def test_a_name_with_a_line_break_stays_on_one_line(evaluate, tmp_path):
    """A type IRI with a tab and a line break printed a violation over two lines; it is not an IRI at all."""
    path = tmp_path / "names.ttl"
    path.write_text(
        "@prefix hk: <https://w3id.org/hipaa-kg/> .\n"
        "<https://example.org/p> a <https://w3id.org/hipaa-kg/Indi\\u0009vid\\u000Aual> .\n"
    )
    status, _, err = evaluate(path)
    assert status == 2
    assert "'https://w3id.org/hipaa-kg/Indi\\tvid\\nual' is not a valid IRI" in one_error_line(path, err)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("brace.ttl", "<https://example.org/a{b> a <https://w3id.org/hipaa-kg/Individual> .\n"),
        (
            "reference.yaml",
            "facts: [{id: p, type: Individual}, {id: u, type: Use, actor: 'a{b', information: {about: p}}]\n",
        ),
        ("brace.jsonld", '{"@graph": [{"@id": "p", "@type": "Individual", "treats": "a{b"}]}'),
        ("scheme.ttl", "@base <http&://example.org/> .\n<p> a <https://w3id.org/hipaa-kg/Individual> .\n"),
        ("host.ttl", "<https://[example.org/p> a <https://w3id.org/hipaa-kg/Individual> .\n"),
    ],
    ids=["turtle", "yaml", "jsonld", "scheme", "host"],
)
def test_an_iri_the_engine_refuses_is_one_line(evaluate, tmp_path, name, text):
    """rdflib reads '<a{b>'; the SPARQL engine refused it: 'internal error: Invalid IRI code point' (fuzz cases
    1697, 2787 and 5420: a brace, a scheme with '&', a host with '[')."""
    path = tmp_path / name
    path.write_text(text)
    status, _, err = evaluate(path)
    assert status == 2
    assert "is not a valid IRI" in one_error_line(path, err)


# --- no literal value of a scenario on standard error ------------------------------------------
#
# Error lines name the file, the line, the node id, the property and the problem; an
# unknown term is named (it is vocabulary, with the nearest known term suggested). The
# values a person wrote about someone are never repeated: names and notes (label,
# comment, note, properties of other vocabularies), dates, booleans written as text,
# and the title. Node ids are how errors point, so they are shown.

MARK = "Zq7Marker"


def marked(n: int) -> str:
    return f"{MARK}{n}x"


LEAKY = {
    "labels.yaml": f"""title: {marked(1)}
note: {marked(2)}
facts:
  - {{id: p, type: Individual, label: {marked(3)}, comment: {marked(4)}, dateOfDeath: {marked(5)}, minor: {marked(6)}}}
  - {{id: c, type: HealthCareProvider, transmitsStandardTransactions: {marked(7)}, treats: p}}
  - id: d1
    type: Disclosure
    actor: c
    recipient: nobody
    information: {{type: ProtectedHealthInformation, about: p, label: {marked(8)}}}
    purpose: Treatment
    requiredByLaw: {marked(9)}
""",
    "other-vocabulary.yaml": f"""context: {{ex: "https://example.org/v/"}}
facts:
  - {{id: p, type: Individual, "ex:name": {marked(10)}, name: {marked(11)}}}
  - {{id: d1, type: Use, actor: p, information: {{about: p}}, "ex:note": {marked(12)}}}
""",
    "typed.jsonld": f"""{{"@graph": [
  {{"id": "p", "type": "Individual", "dateOfDeath": {{"@value": "{marked(13)}", "@type": "xsd:date"}},
   "label": {{"@value": "{marked(14)}", "@language": "not a language"}}}},
  {{"id": "q", "type": "Individual", "minor": {{"@value": "{marked(15)}", "@type": "xsd:boolean"}}}}
]}}""",
    "typed.ttl": f"""@prefix hk: <https://w3id.org/hipaa-kg/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
<p> a hk:Individual ; hk:dateOfDeath "{marked(16)}"^^xsd:date ; hk:minor "{marked(17)}"^^xsd:boolean ;
    hk:deceased "{marked(18)}" ; <http://www.w3.org/2000/01/rdf-schema#label> "{marked(19)}"@en .
""",
    "asof.yaml": f"asOf: {marked(20)}\nfacts: [{{id: p, type: Individual}}]\n",
    "broken.yaml": f"title: {marked(21)}\nfacts:\n  - {{id: p, label: '{marked(22)}\n",
    "broken.json": f'{{"facts": [{{"id": "p", "label": "{marked(23)}" "x"}}]}}',
    "broken.ttl": f'<p> <https://w3id.org/hipaa-kg/note> "{marked(24)}" "{marked(25)}" .\n',
    "broken-string.ttl": f'<p> <https://w3id.org/hipaa-kg/note> "{marked(26)}\n',
    "broken.jsonld": f'{{"@graph": [{{"@id": "p", "label": {{"@value": "{marked(27)}", "@type": 5}}}}]}}',
    "tag.yaml": f"facts: [{{id: p, type: Individual, label: !!binary {marked(28)}}}]\n",
}


@pytest.mark.parametrize("name", sorted(LEAKY))
def test_no_literal_value_is_echoed(evaluate, tmp_path, name):
    """Broken scenarios with marked literal values: no line on standard error, no violation message, repeats one."""
    path = tmp_path / name
    path.write_text(LEAKY[name])
    status, out, err = evaluate(path)
    assert status in (1, 2), (status, err)
    assert err and MARK not in err, err
    if status == 1:
        import json

        messages = [v["message"] for s in json.loads(out)["scenarios"] for v in s["violations"]]
        assert messages and not any(MARK in m for m in messages), messages


def test_a_control_character_in_yaml_is_one_line(evaluate, tmp_path):
    """The YAML reader refuses a NUL byte before parsing, outside the parser's errors: it was exit 3 (fuzz case 763)."""
    path = tmp_path / "nul.yaml"
    path.write_bytes(b"facts:\n  - x\x00\n")
    status, _, err = evaluate(path)
    assert status == 2
    assert one_error_line(path, err).endswith(":2: not valid YAML: special characters are not allowed (U+0000)")


def test_no_literal_value_reaches_standard_error_of_the_command(tmp_path):
    """The same files through the command in a process of its own: Python warnings and rdflib's log included."""
    paths = []
    for name, text in sorted(LEAKY.items()):
        (tmp_path / name).write_text(text)
        paths.append(str(tmp_path / name))
    out = subprocess.run(
        [sys.executable, "-m", "reasoner.cli", "evaluate", "--format", "json", *paths],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 2
    assert MARK not in out.stderr, out.stderr
    assert all(line.startswith("hipaa-kg: ") for line in out.stderr.splitlines()), out.stderr
