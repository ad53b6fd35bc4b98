"""The published ontology: HTML documentation (pyLODE), Turtle, JSON-LD and the JSON-LD context.

``write_docs(out_dir)`` writes, and returns the paths of:

- ``index.html``: one page per pyLODE's OntPub profile, every term with its
  label, definition (skos:definition, shown as its description), scope note
  and source; each source is shown by its citation ("45 CFR 164.506(c)(2)") and
  links to the eCFR. The page loads nothing: pyLODE inlines its stylesheet and
  icons; its links to the eCFR and to pyLODE are links, not resources.
- ``hipaa-kg.ttl`` and ``hipaa-kg.jsonld``: the ontology, i.e. the term files
  merged (ontology/hipaa-kg.ttl, decision.ttl, terms-*.ttl), the same graph twice;
- ``provisions.ttl``: the CFR paragraphs, definitions and OCR guidance the terms
  cite (ontology/provisions.ttl as shipped), so that every dcterms:source of the
  ontology resolves without the network;
- ``context.jsonld``: the JSON-LD context of the scenario language.

The provisions are published beside the ontology, not inside it: they are the
regulation's text (848 resources, public domain), the ontology is hipaa-kg's
vocabulary, and a reader who loads the vocabulary should not get the
regulation with it.

The directory is written whole or not at all: the files are written in a new
directory beside it, which then takes its place.

pyLODE 3.4 needs three things set right around it (see ``_pylode_html``): it
reads its version from a pyproject.toml that its wheel does not ship; it sets the
root logger to DEBUG with a handler when imported, and adds a handler on its
first log call (both undone); and it caches the vocabularies it knows as pickles
in its own package folder (read-only in a system install), which here is pointed
at a temporary folder.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import re
import shutil
import sys
import tempfile
import types
from contextlib import contextmanager
from html import escape
from pathlib import Path

from rdflib import RDFS, Graph, URIRef

from .errors import HipaaKgError
from .namespaces import DCTERMS, HK, HKP, SCHEMA
from .ontology import term_files
from .resources import ontology_file

__all__ = ["write_docs", "ontology_terms"]

FILES = ("index.html", "hipaa-kg.ttl", "hipaa-kg.jsonld", "provisions.ttl", "context.jsonld")


def ontology_terms() -> Graph:
    """The ontology as published: every term file merged, with the project's prefixes."""
    graph = Graph()
    for name in term_files():
        graph.parse(data=ontology_file(name).read_text(encoding="utf-8"), format="turtle")
    return graph


def write_docs(out_dir: Path) -> list[Path]:
    """Write the documentation and the ontology files into ``out_dir`` (replaced whole); return their paths."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise HipaaKgError(f"{out_dir}: not a directory")
    parent = out_dir.absolute().parent
    if parent.exists() and not parent.is_dir():
        raise HipaaKgError(f"{out_dir}: {parent} is not a folder")
    if not parent.is_dir():
        raise HipaaKgError(f"{out_dir}: the folder {parent} does not exist")
    try:
        building = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=parent))
    except OSError as e:
        raise HipaaKgError(f"{out_dir}: cannot write in {parent} ({e.strerror})") from None
    try:
        _write_all(building)
        _replace(building, out_dir)
    except OSError as e:
        raise HipaaKgError(f"{out_dir}: cannot write the documentation ({e.strerror or e})") from None
    finally:
        if building.exists():
            shutil.rmtree(building, ignore_errors=True)
    return [out_dir / name for name in FILES]


def _write_all(folder: Path) -> None:
    terms = ontology_terms()
    provisions = ontology_file("provisions.ttl").read_text(encoding="utf-8")
    context = ontology_file("context.jsonld").read_text(encoding="utf-8")
    (folder / "hipaa-kg.ttl").write_text(terms.serialize(format="turtle"), encoding="utf-8")
    (folder / "hipaa-kg.jsonld").write_text(terms.serialize(format="json-ld", indent=1), encoding="utf-8")
    (folder / "provisions.ttl").write_text(provisions, encoding="utf-8")
    (folder / "context.jsonld").write_text(context, encoding="utf-8")
    (folder / "index.html").write_text(_pylode_html(*_documented(terms, provisions)), encoding="utf-8")
    os.chmod(folder, 0o755)


def _replace(building: Path, out_dir: Path) -> None:
    """Put the finished folder in place of ``out_dir``: renamed in, the old one renamed out first."""
    if not out_dir.exists():
        os.replace(building, out_dir)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old.", dir=out_dir.absolute().parent))
    os.replace(out_dir, old / out_dir.name)
    try:
        os.replace(building, out_dir)
    except OSError:
        os.replace(old / out_dir.name, out_dir)  # put the old one back
        raise
    finally:
        shutil.rmtree(old, ignore_errors=True)


def _documented(terms: Graph, provisions_text: str) -> tuple[Graph, list[tuple[URIRef, str, str, str]]]:
    """The terms, each cited provision named by its citation; and the cited provisions (IRI, label, URL, text)."""
    provisions = Graph().parse(data=provisions_text, format="turtle")
    graph = Graph()
    graph += terms
    for prefix, namespace in terms.namespace_manager.namespaces():
        graph.bind(prefix, namespace)
    cited = []
    for source in sorted(set(terms.objects(None, DCTERMS.source))):
        label = provisions.value(source, RDFS.label)
        if not isinstance(source, URIRef) or not source.startswith(HKP) or label is None:
            continue
        graph.add((source, RDFS.label, label))
        url = provisions.value(source, SCHEMA.url)
        text = provisions.value(source, HK.text) or provisions.value(source, DCTERMS.title) or ""
        cited.append((source, str(label), str(url or ""), str(text)))
    return graph, cited


def _pylode_html(graph: Graph, cited: list[tuple[URIRef, str, str, str]]) -> str:
    """pyLODE's OntPub page of ``graph``, and a section quoting the cited provisions that its source links reach."""
    with _root_logger_kept():
        ontpub = _import_pylode()
    import pylode.utils as pylode_utils

    shipped = pylode_utils.RDF_FOLDER
    with _root_logger_kept(), tempfile.TemporaryDirectory(prefix="hipaa-kg-pylode-") as scratch:
        for ttl in shipped.glob("*.ttl"):  # pyLODE writes its pickled cache beside these files
            shutil.copy(ttl, scratch)
        pylode_utils.RDF_FOLDER = Path(scratch)
        try:
            page = ontpub.OntPub(ontology=graph, sort_subjects=True)
            text = page.make_html()
        finally:
            pylode_utils.RDF_FOLDER = shipped
    section = _provisions_section(cited, page.fids)
    marker = '<div id="namespaces">'
    if marker not in text:
        raise HipaaKgError(f"pyLODE {importlib.metadata.version('pylode')} wrote a page without {marker}")
    return _resolve_fragments(text.replace(marker, section + marker, 1))


def _resolve_fragments(text: str) -> str:
    """pyLODE links every hk: IRI to a fragment of the page; one that names nothing there links to the IRI."""
    ids = set(re.findall(r'\sid="([^"]+)"', text))

    def link(match: re.Match) -> str:
        fragment = match.group(1)
        return match.group(0) if fragment in ids else f'href="{escape(str(HK) + fragment)}"'

    return re.sub(r'href="#([^"]*)"', link, text)


def _provisions_section(cited: list[tuple[URIRef, str, str, str]], fids: dict[str, str]) -> str:
    """The provisions the terms cite, each under the fragment id pyLODE's source links point to."""
    entries = []
    for iri, label, url, text in cited:
        fid = fids.get(str(iri)) or iri.split("/")[-1]
        link = f'<a href="{escape(url)}">{escape(url)}</a>' if url else ""
        entries.append(
            f'<div class="property entity" id="{escape(fid)}"><h3>{escape(label)}</h3><table>'
            f"<tr><th>IRI</th><td><code>{escape(str(iri))}</code></td></tr>"
            f"<tr><th>Text</th><td><p>{escape(text)}</p></td></tr>"
            f"<tr><th>eCFR</th><td>{link}</td></tr></table></div>"
        )
    intro = (
        "<p>The provisions the terms above name as their source, quoted from the regulation "
        "(public domain). Every provision of the sections hipaa-kg covers is in provisions.ttl beside this page.</p>"
    )
    return f'<div class="section" id="provisions"><h2>Provisions cited</h2>{intro}{"".join(entries)}</div>\n'


def _import_pylode():
    """Import pyLODE's OntPub (pylode/version.py reads a pyproject.toml its wheel lacks: give it the version)."""
    if "pylode.version" not in sys.modules:
        shim = types.ModuleType("pylode.version")
        shim.__version__ = importlib.metadata.version("pylode")
        sys.modules["pylode.version"] = shim
    from pylode.profiles import ontpub

    return ontpub


@contextmanager
def _root_logger_kept():
    """Undo what pyLODE does to the root logger: basicConfig(level=DEBUG) on import, a handler on logging.info()."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        yield
    finally:
        root.setLevel(level)
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)
