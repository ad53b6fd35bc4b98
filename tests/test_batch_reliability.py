"""hipaa-kg batch as an operator meets it: bad CSV lines, a byte order mark, two runs on one output,
a full disk, kills at every step, and workers that must end with their parent."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from reasoner import batch
from reasoner.batch import Settings, run
from reasoner.cli import main

ROOT = Path(__file__).resolve().parent.parent
LOG = ROOT / "examples" / "audit-log"
PARTIES = str(LOG / "parties.yaml")
DAY = dt.date(2026, 11, 24)
SETTINGS = Settings(parties=PARTIES, as_of=DAY)
CSV_LINES = (LOG / "events.csv").read_text().splitlines()
HEADER, GOOD = CSV_LINES[0], CSV_LINES[1:5]


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _batch(log: Path, out: Path, *extra: str) -> int:
    return main(["batch", str(log), "--parties", PARTIES, "-o", str(out), "--as-of", DAY.isoformat(), *extra])


# --- one bad CSV line -----------------------------------------------------------------

HUGE = '"' + "x " * 100_000 + '"'  # a quoted field of 200,000 characters (the csv module's limit is 131,072)
BAD_CSV = [
    HEADER,
    GOOD[0],
    f"e90,Use,clinic16,{HUGE},patient2,ProtectedHealthInformation,,,,,,",  # line 3
    GOOD[1],
    'e91,Use,"clinic16,Treatment,patient2,ProtectedHealthInformation,,,,,,',  # line 5: a quote left open
    GOOD[2],
    GOOD[3],
]


def test_a_bad_csv_line_is_one_malformed_event_and_the_run_goes_on(tmp_path, capsys):
    log = tmp_path / "log.csv"
    log.write_text("\n".join(BAD_CSV) + "\n")
    out = tmp_path / "out.jsonl"
    assert _batch(log, out) == 1
    records = _records(out)
    assert [r["line"] for r in records] == [2, 3, 4, 5, 6, 7]
    assert [("error" in r) for r in records] == [False, True, False, True, False, False]
    assert records[1]["error"] == "'purpose' must be a term of the ontology"
    assert records[3]["error"] == "not valid CSV: a quoted value is not closed on its line"
    assert [r["id"] for r in records if "id" in r] == ["e0", "e1", "e2", "e3"]
    err = capsys.readouterr().err.splitlines()
    assert [line.split(": ")[1] for line in err[:-1]] == [f"{log}:3", f"{log}:5"]
    assert "x x" not in "\n".join(err) and "6 events: 2 malformed" in err[-1]


@pytest.mark.parametrize("kept", [1, 2, 3, 4])
def test_a_resumed_run_gets_past_a_bad_csv_line(tmp_path, kept):
    """An interrupted run that had written KEPT records (before, at and after the bad lines) ends the same."""
    log = tmp_path / "log.csv"
    log.write_text("\n".join(BAD_CSV) + "\n")
    whole = tmp_path / "whole.jsonl"
    run(str(log), str(whole), SETTINGS, progress=False)
    out = tmp_path / "out.jsonl"
    lines = whole.read_text().splitlines(keepends=True)
    Path(f"{out}.partial").write_text("".join(lines[:kept]) + lines[kept][:9])  # and a half-written line
    Path(f"{out}.partial.json").write_text(json.dumps(batch._identity(str(log), SETTINGS)))
    summary = run(str(log), str(out), SETTINGS, progress=False)
    assert summary.resumed == kept and summary.events == 6
    assert out.read_bytes() == whole.read_bytes()


# --- a byte order mark ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["events.csv", "events.jsonl"])
def test_a_utf8_byte_order_mark_is_accepted(tmp_path, name):
    lines = (LOG / name).read_text().splitlines()[:4]
    plain, marked = tmp_path / f"plain-{name}", tmp_path / f"marked-{name}"
    plain.write_text("\n".join(lines) + "\n", encoding="utf-8")
    marked.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    assert marked.read_bytes().startswith(b"\xef\xbb\xbf")
    assert _batch(plain, tmp_path / "plain.jsonl") == 0
    assert _batch(marked, tmp_path / "marked.jsonl") == 0
    assert (tmp_path / "marked.jsonl").read_bytes() == (tmp_path / "plain.jsonl").read_bytes()
