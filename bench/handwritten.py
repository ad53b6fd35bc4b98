"""The practical speed limit: the decisions of bench/make_log.py's logs, written by hand in Python.

This is what a programmer would write for one log's kinds of events, with no
ontology, no rules as data, no validation and no explanation: a function over
dicts. It covers only the events bench/make_log.py generates, and
bench/batch_bench.py checks that it agrees with hipaa-kg (decision and basis) on
every event it measures. It is a yardstick, not a reasoner: it knows nothing the
generator does not produce.
"""

from __future__ import annotations

import datetime as dt
import json

OPERATIONS = {"QualityAssessment", "CompetenceReview", "TrainingProgram", "BusinessManagement", "CareCoordination"}


class Parties:
    """What the function needs to know of the parties file, read once."""

    def __init__(self, facts: list[dict], as_of: dt.date):
        self.types = {f["id"]: f.get("type") for f in facts}
        self.covered = {f["id"] for f in facts if f.get("transmitsStandardTransactions")} | {
            f["id"] for f in facts if f.get("type") in ("HealthPlan", "HealthCareClearinghouse")
        }
        self.associate_of = {f["id"]: f["businessAssociateOf"] for f in facts if "businessAssociateOf" in f}
        self.agreement = {f["id"]: f.get("hasBusinessAssociateAgreementWith") for f in facts}
        self.involved = {(f["id"], f["involvedInCareOf"]) for f in facts if "involvedInCareOf" in f}
        self.representative = {
            (f["id"], f["personalRepresentativeOf"]) for f in facts if "personalRepresentativeOf" in f
        }
        self.deceased = {f["id"] for f in facts if f.get("deceased")}
        self.not_phi = set()  # a decedent's information is PHI for 50 years after death
        for f in facts:
            if "dateOfDeath" in f:
                death = dt.date.fromisoformat(str(f["dateOfDeath"]))
                if as_of > death.replace(year=death.year + 50):
                    self.not_phi.add(f["id"])


def decide(event: dict, parties: Parties) -> tuple[str, list[str]]:
    """(decision, basis) of one event."""
    actor, recipient, purpose = event["actor"], event.get("recipient"), event.get("purpose")
    subject = event.get("subject")
    deceased = subject in parties.deceased
    if subject in parties.not_phi:
        return "not-regulated", ["45 CFR 164.502(f)", "45 CFR 160.103"]
    if actor not in parties.covered or event.get("information") == "EmploymentRecord":
        return "not-regulated", ["45 CFR 160.103"]
    if purpose == "Research" and event.get("irbWaiver"):
        return "permitted", ["45 CFR 164.512(i)(1)(i)"]
    if purpose == "Research" and deceased:
        return "permitted", ["45 CFR 164.512(i)(1)(iii)"]
    if event.get("authorized"):
        return "permitted", [
            "45 CFR 164.502(a)(1)(iv)",
            "45 CFR 164.508(a)(3)" if purpose == "Marketing" else "45 CFR 164.508(a)(1)",
        ]
    if recipient == subject and event.get("requestedByIndividual"):
        return "required", ["45 CFR 164.502(a)(2)(i)"]
    if (recipient, subject) in parties.representative:
        return "permitted", ["45 CFR 164.502(a)(1)(i)"]
    if purpose in ("Treatment", "Payment") or purpose in OPERATIONS:
        if recipient is not None and parties.associate_of.get(recipient) == actor:
            if parties.agreement.get(recipient) == actor:
                return "permitted", ["45 CFR 164.502(e)(1)"]
            return "authorization-required", ["45 CFR 164.508(a)(1)"]
        return "permitted", ["45 CFR 164.506(c)(1)"]  # the actor's own treatment, payment or operations
    if purpose == "InvolvementInCare":
        if (recipient, subject) in parties.involved and deceased and not event.get("individualObjected"):
            return "permitted", ["45 CFR 164.510(b)(5)"]  # unless a known prior preference (an objection)
        if (recipient, subject) in parties.involved and not event.get("individualObjected"):
            return "permitted", [
                "45 CFR 164.510(b)(3)" if event.get("individualIncapacitated") else "45 CFR 164.510(b)(2)"
            ]
        return "authorization-required", ["45 CFR 164.508(a)(1)"]
    if purpose == "PublicHealthActivity" and parties.types.get(recipient) == "PublicHealthAuthority":
        required = ["45 CFR 164.512(a)(1)"] if event.get("requiredByLaw") else []
        return "permitted", ["45 CFR 164.512(b)(1)(i)", *required]
    if purpose == "HealthOversight" and parties.types.get(recipient) == "HealthOversightAgency":
        return "permitted", ["45 CFR 164.512(d)(1)"]
    if purpose == "LawEnforcement" and parties.types.get(recipient) == "LawEnforcementOfficial":
        if event.get("courtOrdered") or event.get("searchWarrant"):
            return "permitted", ["45 CFR 164.512(f)(1)(ii)(A)"]
        if event.get("administrativeRequest"):
            return "permitted", ["45 CFR 164.512(f)(1)(ii)(C)"]
        if deceased:
            return "permitted", ["45 CFR 164.512(f)(4)"]
        return "authorization-required", ["45 CFR 164.508(a)(1)"]
    if purpose == "Research" and event.get("irbWaiver"):
        return "permitted", ["45 CFR 164.512(i)(1)(i)"]
    return "authorization-required", ["45 CFR 164.508(a)(3)" if purpose == "Marketing" else "45 CFR 164.508(a)(1)"]


def run(events_path: str, parties: Parties, output_path: str) -> int:
    """JSON Lines in, JSON Lines out: the end-to-end loop the benchmark times."""
    count = 0
    with open(events_path, encoding="utf-8") as events, open(output_path, "w", encoding="utf-8") as out:
        for number, line in enumerate(events, start=1):
            event = json.loads(line)
            decision, basis = decide(event, parties)
            out.write(json.dumps({"line": number, "id": event["id"], "decision": decision, "basis": basis}) + "\n")
            count += 1
    return count


if __name__ == "__main__":  # EVENTS PARTIES OUT ASOF
    import sys

    import yaml

    events_path, parties_path, output_path, as_of = sys.argv[1:5]
    with open(parties_path, encoding="utf-8") as f:
        facts = yaml.safe_load(f)["facts"]
    run(events_path, Parties(facts, dt.date.fromisoformat(as_of)), output_path)
