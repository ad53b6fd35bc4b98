"""Generate a realistic synthetic audit log and the parties it is about.

    python bench/make_log.py --events 100000 --out /tmp/log   # writes parties.yaml and events.jsonl

A few hundred parties: a hospital and clinics that are covered entities, providers
that are not (no standard transactions), health plans, a clearinghouse, business
associates with and without agreements, an ACO, public health, oversight, law
enforcement, a court, a coroner, researchers, employers, and about 250 patients
(some minors with a parent as personal representative, some deceased, some with a
relative involved in their care). The events mix treatment, payment, operations,
business-associate, family, public-health, law-enforcement, research, marketing
and not-regulated uses and disclosures, in proportions like a hospital's log, and
pick patients with a skew (a few are seen often). The same seed gives the same log.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
from pathlib import Path

import yaml

OPERATIONS = ("QualityAssessment", "CompetenceReview", "TrainingProgram", "BusinessManagement", "CareCoordination")


def parties(rng: random.Random, patients: int = 250) -> tuple[list[dict], dict]:
    facts: list[dict] = []
    who: dict[str, list[str]] = {}

    def add(kind: str, node: dict) -> str:
        facts.append(node)
        who.setdefault(kind, []).append(node["id"])
        return node["id"]

    add("aco", {"id": "aco", "type": "AccountableCareOrganization"})
    add("hospital", {"id": "hospital", "type": "HealthCareProvider", "transmitsStandardTransactions": True})
    for i in range(24):
        node = {"id": f"clinic{i}", "type": "HealthCareProvider", "transmitsStandardTransactions": True}
        if i < 8:
            node["participantIn"] = "aco"
        add("clinic", node)
    for i in range(4):
        add("cashonly", {"id": f"cashpractice{i}", "type": "HealthCareProvider"})
    for i in range(6):
        add("plan", {"id": f"plan{i}", "type": "HealthPlan"})
    add("clearinghouse", {"id": "clearinghouse", "type": "HealthCareClearinghouse"})
    covered = who["hospital"] + who["clinic"]
    for i in range(12):
        entity = covered[i % len(covered)]
        node = {"id": f"vendor{i}", "type": "Organization", "businessAssociateOf": entity}
        if i % 4:
            node["hasBusinessAssociateAgreementWith"] = entity
        add("vendor", node)
    for kind, n in (
        ("PublicHealthAuthority", 3),
        ("HealthOversightAgency", 2),
        ("LawEnforcementOfficial", 3),
        ("Court", 1),
        ("CoronerOrMedicalExaminer", 1),
        ("FuneralDirector", 2),
        ("Researcher", 3),
        ("Employer", 4),
        ("School", 2),
    ):
        for i in range(n):
            add(kind, {"id": f"{kind[0].lower()}{kind[1:]}{i}", "type": kind})
    for i in range(patients):
        pid = f"patient{i}"
        node: dict = {"id": pid, "type": "Individual", "enrolledIn": rng.choice(who["plan"])}
        if i % 10 == 0:
            node["minor"] = True
        if i % 25 == 1:
            node["deceased"] = True
            node["dateOfDeath"] = f"{rng.choice((1960, 1968, 2019, 2023))}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}"
        add("patient", node)
        for provider in sorted({"hospital", rng.choice(who["clinic"]), rng.choice(who["clinic"])}):
            _relate(facts, provider, "treats", pid)
        if i % 10 == 0:
            add("relative", {"id": f"parent{i}", "type": "Person", "personalRepresentativeOf": pid})
        elif i % 3 == 0:
            add("relative", {"id": f"relative{i}", "type": "Person", "involvedInCareOf": pid})
    return facts, who


def _relate(facts: list[dict], subject: str, prop: str, obj: str) -> None:
    for node in facts:
        if node.get("id") == subject:
            values = node.setdefault(prop, [])
            if isinstance(values, str):
                node[prop] = values = [values]
            values.append(obj)
            return


def events(rng: random.Random, who: dict, facts: list[dict], n: int):
    treating: dict[str, list[str]] = {}
    plan_of, relative_of = {}, {}
    for node in facts:
        for pid in node.get("treats", []):
            treating.setdefault(pid, []).append(node["id"])
        if node.get("type") == "Individual":
            plan_of[node["id"]] = node["enrolledIn"]
        for prop in ("involvedInCareOf", "personalRepresentativeOf"):
            if prop in node:
                relative_of[node[prop]] = node["id"]
    patients = who["patient"]
    weights = [1 / (i + 1) ** 0.8 for i in range(len(patients))]
    kinds, odds = zip(*TEMPLATES, strict=True)
    for number in range(n):
        pid = rng.choices(patients, weights)[0]
        provider = rng.choice(treating[pid])
        kind = rng.choices(kinds, odds)[0]
        event = {"id": f"e{number}", **kind(rng, who, pid, provider, plan_of[pid], relative_of.get(pid))}
        event.setdefault("subject", pid)
        event.setdefault("information", "ProtectedHealthInformation")
        yield event


def _disclosure(actor: str, recipient: str, purpose: str) -> dict:
    return {"act": "Disclosure", "actor": actor, "recipient": recipient, "purpose": purpose}


def _treat_use(rng, who, pid, provider, plan, relative):
    return {"act": "Use", "actor": provider, "purpose": "Treatment"}


def _treat_disclosure(rng, who, pid, provider, plan, relative):
    return {"act": "Disclosure", "actor": provider, "recipient": rng.choice(who["clinic"]), "purpose": "Treatment"}


def _payment(rng, who, pid, provider, plan, relative):
    return {"act": "Disclosure", "actor": provider, "recipient": plan, "purpose": "Payment"}


def _operations(rng, who, pid, provider, plan, relative):
    return {"act": "Use", "actor": provider, "purpose": rng.choice(OPERATIONS)}


def _vendor(rng, who, pid, provider, plan, relative):
    vendor = rng.choice(who["vendor"])
    return _disclosure(
        f"{rng.choice(who['clinic'] + who['hospital'])}", vendor, rng.choice(("Payment", "BusinessManagement"))
    )


def _family(rng, who, pid, provider, plan, relative):
    recipient = relative or rng.choice(who["Employer"])
    event = {"act": "Disclosure", "actor": provider, "recipient": recipient, "purpose": "InvolvementInCare"}
    event[rng.choice(("individualPresent", "individualObjected", "individualIncapacitated"))] = True
    return event


def _public_health(rng, who, pid, provider, plan, relative):
    event = _disclosure(provider, rng.choice(who["PublicHealthAuthority"]), "PublicHealthActivity")
    if rng.random() < 0.5:
        event["requiredByLaw"] = True
    return event


def _law(rng, who, pid, provider, plan, relative):
    event = _disclosure(provider, rng.choice(who["LawEnforcementOfficial"]), "LawEnforcement")
    circumstance = rng.choice(("courtOrdered", "searchWarrant", "administrativeRequest", None))
    if circumstance:
        event[circumstance] = True
    return event


def _research(rng, who, pid, provider, plan, relative):
    event = {"act": "Disclosure", "actor": provider, "recipient": rng.choice(who["Researcher"]), "purpose": "Research"}
    if rng.random() < 0.7:
        event[rng.choice(("irbWaiver", "authorized"))] = True
    return event


def _marketing(rng, who, pid, provider, plan, relative):
    event = {"act": "Disclosure", "actor": provider, "recipient": rng.choice(who["vendor"]), "purpose": "Marketing"}
    if rng.random() < 0.5:
        event["authorized"] = True
    return event


def _not_regulated(rng, who, pid, provider, plan, relative):
    if rng.random() < 0.5:
        return _disclosure(rng.choice(who["cashonly"]), rng.choice(who["clinic"]), "Treatment")
    return {
        "act": "Disclosure",
        "actor": rng.choice(who["Employer"]),
        "recipient": rng.choice(who["plan"]),
        "purpose": "Payment",
        "information": "EmploymentRecord",
    }


def _own_access(rng, who, pid, provider, plan, relative):
    return {"act": "Disclosure", "actor": provider, "recipient": pid, "requestedByIndividual": True}


def _oversight(rng, who, pid, provider, plan, relative):
    return _disclosure(provider, rng.choice(who["HealthOversightAgency"]), "HealthOversight")


TEMPLATES = (
    (_treat_use, 30),
    (_treat_disclosure, 14),
    (_payment, 15),
    (_operations, 8),
    (_vendor, 7),
    (_family, 4),
    (_public_health, 4),
    (_law, 3),
    (_research, 3),
    (_marketing, 2),
    (_not_regulated, 5),
    (_own_access, 3),
    (_oversight, 2),
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--patients", type=int, default=250)
    parser.add_argument("--seed", type=int, default=2011)
    parser.add_argument("--csv", action="store_true", help="also write the events as events.csv")
    parser.add_argument("--out", default=".", help="folder for parties.yaml and events.jsonl")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    facts, who = parties(rng, args.patients)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    title = "Synthetic parties of a hospital's audit log (bench/make_log.py)"
    (out / "parties.yaml").write_text(yaml.safe_dump({"title": title, "facts": facts}, sort_keys=False))
    log = list(events(rng, who, facts, args.events)) if args.csv else events(rng, who, facts, args.events)
    with open(out / "events.jsonl", "w", encoding="utf-8") as f:
        for event in log:
            f.write(json.dumps(event) + "\n")
    if args.csv:
        columns = list(dict.fromkeys(k for event in log for k in event))
        with open(out / "events.csv", "w", encoding="utf-8", newline="") as f:
            writer = csv.DictWriter(f, columns)
            writer.writeheader()
            writer.writerows({k: str(v).lower() if isinstance(v, bool) else v for k, v in e.items()} for e in log)


if __name__ == "__main__":
    main()
