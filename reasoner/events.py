"""Read an audit log: one flat record per use or disclosure, in JSON Lines or CSV.

The columns (README, "Audit logs"):

- ``id`` (required): the event's id, a local name; the act's id in its decision record.
- ``act`` (required): ``Use`` or ``Disclosure``.
- ``actor``, ``recipient``, ``subject`` (the individual the information is about),
  ``createdBy``, ``forActivitiesOf``: ids of parties of the PARTIES file (or full IRIs).
- ``information``: the kind of information (``ProtectedHealthInformation``, ...);
  absent, ``HealthInformation`` as in a scenario file.
- ``purpose``: a purpose of SCENARIOS.md.
- ``date``: the date whose rules apply to this event (YYYY-MM-DD; default: the run's).
- every boolean circumstance of an act (``requiredByLaw``, ``authorized``, ...): JSON
  ``true``/``false``; in CSV ``true``/``false``, an empty cell being absent.

A line that is not such a record raises ``EventError``, which names the problem and
never the line's values (an audit log is health information).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

from rdflib import OWL, RDF, RDFS, XSD

from .errors import HipaaKgError
from .namespaces import HK
from .ontology import Ontology

PARTY_COLUMNS = ("actor", "recipient", "subject", "createdBy", "forActivitiesOf")
TERM_COLUMNS = ("act", "information", "purpose")
ACTS = ("Use", "Disclosure")
NAME = re.compile(r"^(?:[A-Za-z0-9_][A-Za-z0-9_.~-]*|[a-z][a-z0-9+.-]*:\S+)$")
TERM = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")


class EventError(Exception):
    """One event that is not a record of the documented columns (the run goes on)."""


def circumstances(ontology: Ontology) -> tuple[str, ...]:
    """The boolean facts an act may carry: every datatype property of acts with boolean values."""
    found = []
    for prop in ontology.terms.subjects(RDF.type, OWL.DatatypeProperty):
        domain = ontology.terms.value(prop, RDFS.domain)
        of_acts = domain == HK.Act or HK.Act in ontology.ancestors.get(domain, ())
        if of_acts and ontology.terms.value(prop, RDFS.range) == XSD.boolean:
            found.append(str(prop)[len(HK) :])
    return tuple(sorted(found))


class Columns:
    """The columns an event may have, and how each value is checked."""

    def __init__(self, ontology: Ontology):
        self.booleans = frozenset(circumstances(ontology))
        self.known = frozenset(("id", "date", *PARTY_COLUMNS, *TERM_COLUMNS, *self.booleans))

    def check_header(self, source: str, header: list[str] | None) -> None:
        if not header:
            raise HipaaKgError(f"{source}:1: a CSV audit log needs a header row naming its columns")
        unknown = [c for c in header if c not in self.known]
        if unknown:
            raise HipaaKgError(f"{source}:1: unknown column '{unknown[0]}' (see the README, 'Audit logs')")

    def normalize(self, raw: object, from_csv: bool) -> dict[str, object]:
        """The event's facts, checked: strings for ids and terms, booleans, a date; absent ones left out."""
        if not isinstance(raw, dict):
            raise EventError("an event must be a JSON object of the documented columns")
        event: dict[str, object] = {}
        for column, value in raw.items():
            if column not in self.known:
                name = column if isinstance(column, str) and TERM.match(column) else "(unnamed)"
                raise EventError(f"unknown column '{name}'")
            if value is None or (from_csv and value == ""):
                continue
            event[column] = self._value(column, value, from_csv)
        for required in ("id", "act", "actor"):
            if required not in event:
                raise EventError(f"no '{required}'")
        if event["act"] not in ACTS:
            raise EventError("'act' must be Use or Disclosure")
        return event

    def _value(self, column: str, value: object, from_csv: bool) -> object:
        if column in self.booleans:
            if from_csv and value in ("true", "false"):
                return value == "true"
            if isinstance(value, bool):
                return value
            raise EventError(f"'{column}' must be true or false")
        if not isinstance(value, str):
            raise EventError(f"'{column}' must be a string")
        if column == "date":
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                raise EventError("'date' must be a date written YYYY-MM-DD") from None
        pattern = TERM if column in TERM_COLUMNS else NAME
        if not pattern.match(value):
            what = "a term of the ontology" if column in TERM_COLUMNS else "an id (letters, digits, '_', '-', '.')"
            raise EventError(f"'{column}' must be {what}")
        return value


def log_format(path: str) -> str:
    suffix = Path(path).suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    raise HipaaKgError(f"{path}: unknown audit log type (expected .jsonl, .ndjson or .csv)")


def read_events(path: str, columns: Columns) -> Iterator[tuple[int, dict | EventError]]:
    """Each event of the log with its line number: its checked facts, or what is wrong with it.

    Blank lines are skipped, and a UTF-8 byte order mark at the start is ignored. The
    file is read as it goes, so memory does not grow with the log.
    """
    fmt = log_format(path)
    try:
        handle = open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115 (closed below, generator)
    except OSError as e:
        raise HipaaKgError(f"{path}: cannot read the file: {e.strerror or e}") from None
    with handle:
        try:
            if fmt == "jsonl":
                yield from _jsonl(handle, columns)
            else:
                yield from _csv(path, handle, columns)
        except UnicodeDecodeError as e:
            raise HipaaKgError(f"{path}: not UTF-8 text (byte {e.start} of a block)") from None


def _jsonl(handle, columns: Columns) -> Iterator[tuple[int, dict | EventError]]:
    for number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as e:
            yield number, EventError(f"not valid JSON: {e.msg}")
            continue
        try:
            yield number, columns.normalize(raw, from_csv=False)
        except EventError as e:
            yield number, e


def _csv(path: str, handle, columns: Columns) -> Iterator[tuple[int, dict | EventError]]:
    """A CSV log, one record a line: no value of the columns holds a line break.

    A line that is not valid CSV (a quote left open, a field of any length) is one
    malformed event, and the next line is the next record, so one bad line never
    stops the run or a resumed run.
    """
    csv.field_size_limit(max(csv.field_size_limit(), os.fstat(handle.fileno()).st_size))
    lines = enumerate(handle, start=1)
    first = next(lines, None)
    try:
        header = _row(first[1]) if first else None
    except csv.Error as e:
        raise HipaaKgError(f"{path}:1: not valid CSV: {_csv_problem(e)}") from None
    columns.check_header(path, header)
    for number, line in lines:
        try:
            row = _row(line)
        except csv.Error as e:
            yield number, EventError(f"not valid CSV: {_csv_problem(e)}")
            continue
        if not row:
            continue
        if len(row) != len(header):
            yield number, EventError(f"{len(header)} columns expected")
            continue
        if not any(row):
            continue
        try:
            yield number, columns.normalize(dict(zip(header, row, strict=True)), from_csv=True)
        except EventError as e:
            yield number, e


def _row(line: str) -> list[str]:
    return next(csv.reader((line,), strict=True), [])


def _csv_problem(error: csv.Error) -> str:
    """The csv module's message (it names no value), or what an unexpected end of line means here."""
    text = str(error)
    return "a quoted value is not closed on its line" if text == "unexpected end of data" else text
