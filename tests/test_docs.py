"""hipaa-kg docs: the HTML documentation and the published ontology files (reasoner/docs.py).

The page is also looked at in a browser by hand (headless Chromium screenshot);
that check is not run here.
"""

import html
import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import ROOT
from rdflib import OWL, RDF, RDFS, Graph, URIRef
from rdflib.compare import isomorphic

from reasoner import docs
from reasoner.docs import FILES, ontology_terms, write_docs
from reasoner.errors import HipaaKgError
from reasoner.namespaces import DCTERMS, HK, HKP

SKOS_DEFINITION = URIRef("http://www.w3.org/2004/02/skos/core#definition")
TERM_KINDS = (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty)


class Page(HTMLParser):
    """What a browser would load and show: tags, ids, links, resources, and the text of each id'd block."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.ids: set[str] = set()
        self.text: list[str] = []
        self.styles: list[str] = []
        self._in_style = False
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if "id" in attributes:
            self.ids.add(attributes["id"])
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        (self.styles if self._in_style else self.text).append(data)


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("docs") / "site"
    written = write_docs(folder)
    assert written == [folder / name for name in FILES]
    return folder


@pytest.fixture(scope="module")
def page(out) -> Page:
    return Page((out / "index.html").read_text(encoding="utf-8"))


def plain(text: str) -> str:
    return " ".join(html.unescape(text).split())


def test_docs_writes_its_files_and_nothing_else(out):
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
    assert all((out / name).stat().st_size > 0 for name in FILES)
    assert [p.name for p in out.parent.iterdir()] == [out.name], "no building folder is left beside it"


def test_the_page_has_a_title_and_every_in_page_link_names_a_block(page):
    assert ("title", {}) in page.tags
    fragments = [a["href"][1:] for tag, a in page.tags if tag == "a" and a.get("href", "").startswith("#")]
    assert fragments
    assert sorted({f for f in fragments if f not in page.ids}) == []


def test_the_page_loads_nothing_from_elsewhere(page):
    """No script, stylesheet, icon, image or frame from the network: the page renders offline."""
    for tag, attributes in page.tags:
        for name in ("src", "data", "srcset", "poster"):
            assert not attributes.get(name, "").startswith(("http:", "https:", "//")), (tag, attributes)
        if tag == "link":
            assert attributes.get("href", "").startswith(("data:", "#")), attributes
        assert tag not in ("iframe", "object", "embed", "base"), tag
    styles = " ".join(page.styles)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", styles)
    assert "@import" not in styles


def test_the_page_lists_every_term_with_its_definition_and_source(out):
    text = plain((out / "index.html").read_text(encoding="utf-8"))
    terms = ontology_terms()
    provisions = Graph().parse(ROOT / "ontology" / "provisions.ttl")
    listed = 0
    for kind in TERM_KINDS:
        for term in terms.subjects(RDF.type, kind):
            if not str(term).startswith(HK) or str(term).startswith(HKP):
                continue
            listed += 1
            assert str(term) in text, f"{term} is not on the page"
            definition = terms.value(term, SKOS_DEFINITION)
            assert plain(str(definition)) in text, f"the definition of {term} is not on the page"
            for source in terms.objects(term, DCTERMS.source):
                label = provisions.value(source, RDFS.label)
                assert label is not None and plain(str(label)) in text, f"the source {source} of {term} is not named"
    assert listed >= 150


def test_each_source_is_quoted_with_its_ecfr_link(out, page):
    text = (out / "index.html").read_text(encoding="utf-8")
    source = HKP["45-CFR-164.506-c-2"]
    assert "https://www.ecfr.gov/current/title-45/section-164.506#p-164.506(c)(2)" in html.unescape(text)
    provisions = Graph().parse(ROOT / "ontology" / "provisions.ttl")
    assert plain(str(provisions.value(source, HK.text))) in plain(text)


def test_the_json_ld_is_the_same_graph_as_the_turtle(out):
    turtle = Graph().parse(out / "hipaa-kg.ttl", format="turtle")
    jsonld = Graph().parse(out / "hipaa-kg.jsonld", format="json-ld")
    assert len(turtle) > 1000
    assert isomorphic(turtle, jsonld)
    assert isomorphic(turtle, ontology_terms())
    assert (URIRef(str(HK)), RDF.type, OWL.Ontology) in turtle


def test_the_context_and_the_provisions_are_published(out):
    context = json.loads((out / "context.jsonld").read_text(encoding="utf-8"))
    assert context == json.loads((ROOT / "ontology" / "context.jsonld").read_text(encoding="utf-8"))
    provisions = Graph().parse(out / "provisions.ttl", format="turtle")
    sources = set(ontology_terms().objects(None, DCTERMS.source))
    assert sources and all((s, RDFS.label, None) in provisions for s in sources if str(s).startswith(HKP))


def test_docs_replaces_the_folder_whole(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "stale.html").write_text("old")
    write_docs(site)
    assert sorted(p.name for p in site.iterdir()) == sorted(FILES)
    assert [p.name for p in tmp_path.iterdir()] == ["site"]


def test_a_failure_leaves_the_old_folder_as_it_was(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("old")

    def fail(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(docs, "_pylode_html", fail)
    with pytest.raises(HipaaKgError) as error:
        write_docs(site)
    assert str(error.value) == f"{site}: cannot write the documentation (No space left on device)"
    assert [p.name for p in site.iterdir()] == ["index.html"]
    assert (site / "index.html").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["site"]


def test_a_file_is_no_folder_for_docs(tmp_path):
    target = tmp_path / "taken"
    target.write_text("x")
    with pytest.raises(HipaaKgError, match=r"taken: not a directory$"):
        write_docs(target)
    with pytest.raises(HipaaKgError, match=r"is not a folder$"):
        write_docs(target / "site")
    assert target.read_text() == "x"


ISOLATED = """
import importlib.util, logging, sys
from pathlib import Path

def refuse(event, args):
    if event.startswith(("socket.", "urllib.Request", "http.client")) and event != "socket.__new__":
        raise RuntimeError(f"network access attempted: {event} {args!r}")

sys.addaudithook(refuse)
from reasoner.docs import write_docs
pylode_rdf = Path(importlib.util.find_spec("pylode").origin).parent / "rdf"
before = sorted(p.name for p in pylode_rdf.iterdir())
write_docs(Path(sys.argv[1]))
root = logging.getLogger()
print(logging.getLevelName(root.level), len(root.handlers), sorted(p.name for p in pylode_rdf.iterdir()) == before)
"""


def test_docs_fetches_nothing_and_leaves_logging_and_pylode_alone(tmp_path):
    """An audit hook fails on any socket or URL request; pyLODE's logging setup and its cache stay out."""
    result = subprocess.run(
        [sys.executable, "-c", ISOLATED, str(tmp_path / "site")], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["WARNING", "0", "True"]
    assert result.stderr == ""
