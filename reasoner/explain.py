"""Explanations a researcher can check: the derivation of a decision, tied to the text of the law.

``explain(reasoner, result, act_id)`` gathers, from a decided scenario, the tree a
reader follows: the decision, the findings that decide it, the rule behind each
(with the facts it matched, in the scenario's own ids), the provisions quoted with
their eCFR links and the OCR guidance, what those provisions refer to, the facts
other rules derived on the way, and the counterfactuals (why not / what would
change it). ``derivation_graph`` draws the same as a networkx graph. The
renderers write it as text, JSON, Graphviz DOT, or a self-contained HTML page.
"""

from __future__ import annotations

import html
import json

import networkx as nx

from .decide import Reasoner, Result
from .errors import HipaaKgError
from .knowledge import references
from .namespaces import HKP

KIND_COLOURS = {
    "act": "#1f4e79",
    "finding": "#7f6000",
    "decisive": "#c00000",
    "rule": "#375623",
    "provision": "#404040",
    "fact": "#5b2c6f",
}


def explain(reasoner: Reasoner, result: Result, act_id: str | None = None) -> dict:
    """The explanation of one act of a decided scenario (the first act when no id is given)."""
    if not result.acts:
        raise HipaaKgError(f"{result.scenario.source}: no decided act to explain (is the scenario valid?)")
    acts = {a["id"]: a for a in result.acts}
    if act_id is not None and act_id not in acts:
        raise HipaaKgError(f"{result.scenario.source}: no act '{act_id}' (acts: {', '.join(acts)})")
    record = acts[act_id or result.acts[0]["id"]]
    ontology = reasoner.ontology
    refs = references(ontology)

    def provision(p) -> dict:
        cited = (
            sorted(ontology.provisions[t].citation or ontology.provisions[t].label for t in refs.successors(p.iri))
            if p.iri in refs
            else []
        )
        return {"citation": p.citation or p.label, "text": p.text, "url": p.url, "refersTo": cited}

    def finding(f: dict) -> dict:
        rule = reasoner.rules.by_name(f["rule"]) if f["rule"] else None
        return {
            "rule": f["rule"],
            "summary": f["summary"],
            "kind": f["kind"],
            "decision": f["decision"],
            "facts": f["facts"],
            "provisions": [provision(p) for p in _provisions(ontology, rule, f)],
            "guidance": [
                {"title": ontology.provision(g).label, "url": ontology.provision(g).url}
                for g in (rule.guidance if rule else [])
            ],
            "note": " ".join(rule.header.get("note", [])) if rule else "",
        }

    explanation = record["explanation"]
    return {
        "source": result.scenario.source,
        "asOf": result.as_of.isoformat(),
        "act": record["id"],
        "decision": record["decision"],
        "basis": record["basis"],
        "minimumNecessary": record["minimumNecessary"],
        "minimumNecessaryBasis": record.get("minimumNecessaryBasis", []),
        "conditions": record["conditions"],
        "decidedBy": [finding(f) for f in explanation["decidedBy"]],
        "otherFindings": [finding(f) for f in explanation["findings"] if not f["decisive"]],
        "derivedFacts": explanation["derivedFacts"],
        "whyNot": explanation.get("whyNot", []),
        "wouldChange": explanation.get("wouldChange", []),
        "notInForce": explanation.get("notInForce", []),
    }


def _provisions(ontology, rule, finding: dict) -> list:
    """What a finding rests on (its hk:provision values), then the rest of its rule's header."""
    found = [ontology.provision(HKP[name]) for name in finding.get("provisions", [])]
    found += [ontology.provision_by_label(label) for label in (rule.provisions if rule else [])]
    return list({p.iri: p for p in found}.values())


def derivation_graph(explanation: dict) -> nx.DiGraph:
    """Facts -> rules -> findings -> act, and rules -> provisions -> what they refer to."""
    graph = nx.DiGraph()
    act = f"act:{explanation['act']}"
    graph.add_node(act, kind="act", label=f"{explanation['act']}: {explanation['decision']}", layer=4)
    for decisive, findings in ((True, explanation["decidedBy"]), (False, explanation["otherFindings"])):
        for f in findings:
            rule = f"rule:{f['rule']}"
            node = f"finding:{f['rule']}"
            graph.add_node(
                node, kind="decisive" if decisive else "finding", label=f"{f['kind']} ({f['decision']})", layer=3
            )
            graph.add_node(rule, kind="rule", label=f["rule"], layer=2)
            graph.add_edge(node, act, label="decides" if decisive else "about")
            graph.add_edge(rule, node, label="concludes")
            for variable, value in f["facts"].items():
                fact = f"fact:{value}"
                graph.add_node(fact, kind="fact", label=value, layer=1)
                graph.add_edge(fact, rule, label=variable)
            for p in f["provisions"]:
                cited = f"provision:{p['citation']}"
                graph.add_node(cited, kind="provision", label=p["citation"], layer=0)
                graph.add_edge(rule, cited, label="rests on")
    for derived in explanation["derivedFacts"]:
        subject, predicate, value = derived["fact"]
        rule = f"rule:{derived['rule']}"
        graph.add_node(rule, kind="rule", label=derived["rule"], layer=2)
        graph.add_node(f"fact:{subject}", kind="fact", label=subject, layer=1)
        graph.add_edge(rule, f"fact:{subject}", label=f"{predicate} {value}")
    return graph


# --- renderers --------------------------------------------------------------------


def as_text(e: dict) -> str:
    lines = [f"{e['act']}: {e['decision']}  ({', '.join(e['basis']) or 'no provision'})  [{e['source']}]"]
    lines.append(f"├─ under the rules in force on {e['asOf']}")
    mn = "applies" if e["minimumNecessary"] else "does not apply"
    lines.append(
        f"├─ minimum necessary {mn}"
        + (f" ({', '.join(e['minimumNecessaryBasis'])})" if e["minimumNecessaryBasis"] else "")
    )
    for c in e["conditions"]:
        lines.append(f"├─ condition: {c['label']} ({c['basis']})")
    for f in e["decidedBy"]:
        lines += _finding_text(f, "├─ decided by")
    for f in e["otherFindings"]:
        lines += _finding_text(f, "├─ also found")
    if e["derivedFacts"]:
        lines.append("├─ facts derived on the way")
        for d in e["derivedFacts"]:
            lines.append(f"│    {' '.join(d['fact'])}   (rule {d['rule']}: {'; '.join(d['basis'])})")
    if e["notInForce"]:
        lines.append("├─ not in force on that date")
        for n in e["notInForce"]:
            lines.append(f"│    {n['text']}")
    for key, title in (("whyNot", "why not"), ("wouldChange", "what would change it")):
        if e[key]:
            lines.append(f"└─ {title}")
            for c in e[key]:
                lines.append(f"     {c['text']}")
    return "\n".join(lines) + "\n"


def _finding_text(f: dict, head: str) -> list[str]:
    lines = [f"{head} {f['kind']} ({f['decision']}): rule {f['rule']}", f"│    {f['summary']}"]
    if f["facts"]:
        lines.append("│    matched: " + ", ".join(f"{k}={v}" for k, v in f["facts"].items()))
    for p in f["provisions"]:
        lines.append(f"│    {p['citation']}  {p['url']}")
        lines.append(f'│      "{p["text"]}"')
        if p["refersTo"]:
            lines.append(f"│      refers to: {', '.join(p['refersTo'])}")
    for g in f["guidance"]:
        lines.append(f"│    guidance: {g['title']}  {g['url']}")
    if f["note"]:
        lines.append(f"│    note: {f['note']}")
    return lines


def as_json(e: dict) -> str:
    graph = derivation_graph(e)
    e = dict(e, graph=nx.node_link_data(graph, edges="edges"))
    return json.dumps(e, indent=2, ensure_ascii=False) + "\n"


def as_dot(e: dict) -> str:
    graph = derivation_graph(e)
    lines = ["digraph derivation {", "  rankdir=LR;", '  node [shape=box, fontname="Helvetica"];']
    for node, data in graph.nodes(data=True):
        lines.append(f'  "{_dot(node)}" [label="{_dot(data["label"])}", color="{KIND_COLOURS[data["kind"]]}"];')
    for a, b, data in graph.edges(data=True):
        lines.append(f'  "{_dot(a)}" -> "{_dot(b)}" [label="{_dot(data.get("label", ""))}"];')
    return "\n".join(lines + ["}"]) + "\n"


def _dot(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def as_html(e: dict) -> str:
    """One self-contained page: the tree and an SVG of the derivation graph, no script, no network."""
    svg = _svg(derivation_graph(e))
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>hipaa-kg: {html.escape(e['act'])} {html.escape(e['decision'])}</title>",
        "<style>",
        "body{font-family:Helvetica,Arial,sans-serif;margin:2em;max-width:72em;color:#222}",
        ".decision{font-size:1.4em;font-weight:bold}",
        ".permitted,.required{color:#2e7d32}.authorization-required{color:#b26a00}",
        ".prohibited{color:#c62828}.not-regulated{color:#555}",
        "blockquote{border-left:3px solid #aaa;margin:.4em 0 .4em 1em;padding-left:.8em;color:#444}",
        "section{border:1px solid #ddd;border-radius:6px;padding:.6em 1em;margin:.8em 0}",
        "code{background:#f4f4f4;padding:0 .2em}svg{border:1px solid #eee;max-width:100%;height:auto}",
        "</style></head><body>",
        f"<p>{html.escape(e['source'])}, under the rules in force on {html.escape(e['asOf'])}</p>",
        f'<p class="decision">{html.escape(e["act"])}: <span class="{html.escape(e["decision"])}">'
        f"{html.escape(e['decision'])}</span></p>",
        f"<p>Basis: {html.escape(', '.join(e['basis']) or 'no provision')}. Minimum necessary "
        f"{'applies' if e['minimumNecessary'] else 'does not apply'}"
        f"{' (' + html.escape(', '.join(e['minimumNecessaryBasis'])) + ')' if e['minimumNecessaryBasis'] else ''}.</p>",
    ]
    if e["conditions"]:
        parts.append(
            "<p>Conditions: " + "; ".join(html.escape(f"{c['label']} ({c['basis']})") for c in e["conditions"]) + "</p>"
        )
    for title, findings in (("Decided by", e["decidedBy"]), ("Also found", e["otherFindings"])):
        for f in findings:
            parts.append(_finding_html(title, f))
    for key, title in (
        ("notInForce", "Not in force on that date"),
        ("whyNot", "Why not"),
        ("wouldChange", "What would change it"),
    ):
        if e[key]:
            items = "".join(f"<li>{html.escape(c['text'])}</li>" for c in e[key])
            parts.append(f"<section><h3>{title}</h3><ul>{items}</ul></section>")
    if e["derivedFacts"]:
        items = "".join(
            f"<li><code>{html.escape(' '.join(d['fact']))}</code>: rule {html.escape(d['rule'])} "
            f"({html.escape('; '.join(d['basis']))})</li>"
            for d in e["derivedFacts"]
        )
        parts.append(f"<section><h3>Facts derived on the way</h3><ul>{items}</ul></section>")
    parts.append(f"<section><h3>Derivation</h3>{svg}</section></body></html>")
    return "\n".join(parts) + "\n"


def _finding_html(title: str, f: dict) -> str:
    facts = ", ".join(f"{k} = <code>{html.escape(str(v))}</code>" for k, v in f["facts"].items())
    body = [
        f"<section><h3>{title}: {html.escape(f['kind'] or '')} ({html.escape(f['decision'] or '')})</h3>",
        f"<p>Rule <code>{html.escape(f['rule'] or '')}</code>: {html.escape(f['summary'] or '')}</p>",
        f"<p>Matched: {facts}</p>" if facts else "",
    ]
    for p in f["provisions"]:
        body.append(
            f'<p><a href="{html.escape(p["url"] or "")}">{html.escape(p["citation"])}</a></p>'
            f"<blockquote>{html.escape(p['text'])}</blockquote>"
        )
        if p["refersTo"]:
            body.append(f"<p>Refers to: {html.escape(', '.join(p['refersTo']))}</p>")
    for g in f["guidance"]:
        body.append(f'<p>Guidance: <a href="{html.escape(g["url"] or "")}">{html.escape(g["title"])}</a></p>')
    if f["note"]:
        body.append(f"<p><em>Note: {html.escape(f['note'])}</em></p>")
    return "".join(body) + "</section>"


def _svg(graph: nx.DiGraph) -> str:
    """A layered drawing: provisions, facts, rules, findings, act from left to right, each column centred."""
    if graph.number_of_nodes() == 0:
        return "<p>(nothing derived)</p>"
    layers = {layer: [n for n in graph if graph.nodes[n]["layer"] == layer] for layer in range(len(LAYERS))}
    layer_count = max(len(nodes) for nodes in layers.values())
    width, height, box_w, box_h = 1100, max(220, 46 * layer_count + 60), 190, 30
    row = 46
    positions = {}  # the centre line of each box, rows centred in the drawing
    for nodes in layers.values():
        top = 10 + height / 2 - (len(nodes) - 1) * row / 2
        positions.update({n: top + i * row for i, n in enumerate(nodes)})

    def column(layer: int) -> float:
        return 20 + layer / (len(LAYERS) - 1) * (width - box_w - 40)

    def place(node):
        return column(graph.nodes[node]["layer"]), positions[node]

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}">']
    out.append(
        '<defs><marker id="arrow" markerWidth="8" markerHeight="8" refX="8" refY="4" orient="auto">'
        '<path d="M0,0 L8,4 L0,8 z" fill="#888"/></marker></defs>'
    )
    for layer, title in enumerate(LAYERS):
        out.append(f'<text x="{column(layer):.1f}" y="16" font-size="12" font-weight="bold" fill="#666">{title}</text>')
    for a, b, data in graph.edges(data=True):
        (ax, ay), (bx, by) = place(a), place(b)
        if bx > ax:  # left to right: from the right side of a to the left side of b
            x1, x2 = ax + box_w, bx
        else:  # right to left (a rule and the provision it rests on)
            x1, x2 = ax, bx + box_w
        out.append(
            f'<line x1="{x1:.1f}" y1="{ay:.1f}" x2="{x2:.1f}" y2="{by:.1f}" '
            'stroke="#999" marker-end="url(#arrow)">'
            f"<title>{html.escape(data.get('label', ''))}</title></line>"
        )
    for node, data in graph.nodes(data=True):
        x, y = place(node)
        colour = KIND_COLOURS[data["kind"]]
        label = data["label"] if len(data["label"]) <= 28 else data["label"][:27] + "…"
        out.append(
            f'<g><rect x="{x:.1f}" y="{y - box_h / 2:.1f}" width="{box_w}" height="{box_h}" rx="5" fill="white" '
            f'stroke="{colour}" stroke-width="2"/><text x="{x + 8:.1f}" y="{y + 5:.1f}" font-size="12" fill="{colour}">'
            f"{html.escape(label)}</text><title>{html.escape(data['label'])}</title></g>"
        )
    out.append("</svg>")
    return "".join(out)


LAYERS = ("provisions", "facts", "rules", "findings", "act")

RENDERERS = {"text": as_text, "json": as_json, "dot": as_dot, "html": as_html}
