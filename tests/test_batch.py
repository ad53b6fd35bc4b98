"""hipaa-kg batch: the records of an audit log are those evaluate gives; bad lines; resuming; processes."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from reasoner.batch import Settings, run
from reasoner.cli import main

ROOT = Path(__file__).resolve().parent.parent
LOG = ROOT / "examples" / "audit-log"
DAY = dt.date(2026, 11, 24)
SETTINGS = Settings(parties=str(LOG / "parties.yaml"), as_of=DAY, explain="all")  # as evaluate explains


@pytest.fixture(scope="module")
def decided(tmp_path_factory) -> list[dict]:
    out = tmp_path_factory.mktemp("batch") / "decisions.jsonl"
    summary = run(str(LOG / "events.jsonl"), str(out), SETTINGS, progress=False)
    assert summary.events == 40 and not summary.failed
    return [json.loads(line) for line in out.read_text().splitlines()]


def _scenario_of(event: dict, folder: Path) -> Path:
    """The scenario file a user would write for one event: the parties, and the act."""
    act = {"id": event["id"], "type": event["act"]}
    information = {}
    for column, value in event.items():
        if column in ("information", "subject", "createdBy"):
            information[{"information": "type", "subject": "about", "createdBy": "createdBy"}[column]] = value
        elif column not in ("id", "act"):
            act[column] = value
    if information:
        act["information"] = information
    parties = yaml.safe_load((LOG / "parties.yaml").read_text())
    path = folder / "parties.yaml"  # the same file name: the same ids
    path.write_text(yaml.safe_dump({"facts": parties["facts"] + [act]}, sort_keys=False))
    return path


def test_every_record_is_what_evaluate_gives(decided, reasoner, tmp_path):
    """Each event's record equals evaluate's record of the scenario 'the parties plus this act'.

    The log repeats cases (the same act about different patients, or by different
    parties of the same standing), so most records were renamed from another's.
    """
    events = [json.loads(line) for line in (LOG / "events.jsonl").read_text().splitlines()]
    for event, record in zip(events, decided, strict=True):
        folder = tmp_path / event["id"]
        folder.mkdir()
        result = reasoner.decide(_scenario_of(event, folder), as_of=DAY)
        assert result.conforms, event["id"]
        (expected,) = result.acts
        got = {k: v for k, v in record.items() if k not in ("line", "asOf")}
        assert got == json.loads(json.dumps(expected)), event["id"]
        assert record["asOf"] == DAY.isoformat()


@pytest.mark.parametrize("explain", ["why-not", "none"])
def test_explain_leaves_out_counterfactuals_and_nothing_else(decided, tmp_path, explain):
    """--explain why-not (the default) drops wouldChange of permitted acts; none drops every counterfactual."""
    out = tmp_path / "e.jsonl"
    run(str(LOG / "events.jsonl"), str(out), Settings(SETTINGS.parties, DAY, explain=explain), progress=False)
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == len(decided)
    for got, full in zip(records, decided, strict=True):
        dropped = ("wouldChange", "whyNot") if explain == "none" else ("wouldChange",)
        expected = json.loads(json.dumps(full))
        for key in dropped:
            expected["explanation"].pop(key, None)
        assert got == expected
    if explain == "why-not":
        assert any(r["explanation"].get("whyNot") for r in records)


def test_a_date_enters_a_case_only_through_what_it_changes(tmp_path):
    """Events on days with the same rules in force are one case; each record keeps its own day."""
    from reasoner.batch import _decider

    decider = _decider(SETTINGS)
    event = json.loads((LOG / "events.jsonl").read_text().splitlines()[0])
    days = [dt.date(2020, 1, 2), dt.date(2021, 6, 7), dt.date(2012, 5, 1)]  # 2012: before the 2013 rules
    keys = [decider._case_of({**event, "date": day})[0] for day in days]
    assert keys[0] == keys[1] != keys[2]
    lines = [json.loads(decider.record(1, {**event, "date": day})[0]) for day in days]
    assert [r["asOf"] for r in lines] == [d.isoformat() for d in days]


def test_the_log_repeats_itself_and_cases_are_decided_once(tmp_path):
    from reasoner.batch import _decider

    out = tmp_path / "d.jsonl"
    run(str(LOG / "events.jsonl"), str(out), SETTINGS, progress=False)
    assert _decider(SETTINGS).decided < 40


def test_csv_and_json_lines_give_the_same_records(decided, tmp_path):
    out = tmp_path / "csv.jsonl"
    run(str(LOG / "events.csv"), str(out), SETTINGS, progress=False)
    from_csv = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["line"] for r in from_csv] == [r["line"] + 1 for r in decided]  # the header is line 1
    assert [{**r, "line": 0} for r in from_csv] == [{**r, "line": 0} for r in decided]


BAD_LINES = [
    '{"id": "b1", "act": "Use", "actor": "clinic6", "purpose": "Treatment", "subject": "patient3"}',
    "{not json",
    '{"id": "b2", "act": "Use", "actor": "clinic6", "colour": "crimson-7"}',
    '{"id": "b3", "act": "Use", "actor": "clinic6", "requiredByLaw": "Jane Doe"}',
    '{"act": "Use", "actor": "clinic6"}',
    '["a", "list"]',
    '{"id": "b4", "act": "Transfer", "actor": "clinic6"}',
    "",
    '{"id": "b5", "act": "Use", "actor": "clinic6", "purpose": "Treatmnt", "subject": "patient3"}',
]


def test_a_malformed_line_is_reported_by_number_and_the_run_goes_on(tmp_path, capsys):
    log = tmp_path / "bad.jsonl"
    log.write_text("\n".join(BAD_LINES) + "\n")
    out = tmp_path / "out.jsonl"
    status = main(["batch", str(log), "--parties", str(LOG / "parties.yaml"), "-o", str(out), "--as-of", "2026-11-24"])
    assert status == 1
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["line"] for r in records] == [1, 2, 3, 4, 5, 6, 7, 9]  # the blank line 8 is no event
    assert records[0]["decision"] == "permitted"
    assert [("error" in r) for r in records] == [False, True, True, True, True, True, True, False]
    assert records[-1]["conforms"] is False and records[-1]["id"] == "b5"  # an unknown purpose: a violation
    err = capsys.readouterr().err.splitlines()
    for number in (2, 3, 4, 5, 6, 7, 9):
        assert any(line.startswith(f"hipaa-kg: {log}:{number}: ") for line in err), number
    assert "Jane Doe" not in "\n".join(err) and "crimson-7" not in "\n".join(err)  # values are never echoed
    assert "6 malformed" in err[-1] and "1 invalid" in err[-1] and "1 permitted" in err[-1]


def test_strict_stops_at_the_first_malformed_line_and_writes_nothing(tmp_path, capsys):
    log = tmp_path / "bad.jsonl"
    log.write_text("\n".join(BAD_LINES) + "\n")
    out = tmp_path / "out.jsonl"
    args = ["batch", str(log), "--parties", str(LOG / "parties.yaml"), "-o", str(out), "--strict"]
    assert main(args) == 2
    assert (
        capsys.readouterr().err.strip()
        == f"hipaa-kg: {log}:2: not valid JSON: Expecting property name enclosed in double quotes (--strict)"
    )
    assert list(tmp_path.iterdir()) == [log]


@pytest.mark.parametrize(
    ("parties", "message"),
    [
        ("missing.yaml", "cannot read the file"),
        ("examples/payment-claim-to-plan.yaml", "PARTIES describes acts"),
    ],
)
def test_bad_parties_are_one_line_and_no_output(tmp_path, capsys, parties, message):
    out = tmp_path / "out.jsonl"
    status = main(["batch", str(LOG / "events.jsonl"), "--parties", str(ROOT / parties), "-o", str(out)])
    err = capsys.readouterr().err.strip()
    assert status == 2 and len(err.splitlines()) == 1 and message in err
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_csv_column_is_one_line(tmp_path, capsys):
    log = tmp_path / "log.csv"
    log.write_text("id,act,actor,shoeSize\ne1,Use,clinic6,44\n")
    status = main(["batch", str(log), "--parties", str(LOG / "parties.yaml"), "-o", str(tmp_path / "o.jsonl")])
    assert status == 2
    assert (
        capsys.readouterr().err.strip()
        == f"hipaa-kg: {log}:1: unknown column 'shoeSize' (see the README, 'Audit logs')"
    )


def _batch_command(out: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "reasoner.cli", "batch", str(LOG / "events.jsonl"),
        "--parties", str(LOG / "parties.yaml"), "-o", str(out), "--as-of", "2026-11-24", "--explain", "all", *extra,
    ]  # fmt: skip


def test_killed_runs_resume_without_losing_or_repeating_a_decision(decided, tmp_path):
    """SIGKILL at random points, then run again until done: the same records as an uninterrupted run."""
    out = tmp_path / "decisions.jsonl"
    partial = Path(str(out) + ".partial")
    rng = random.Random(1)
    kills = 0
    for _ in range(3):
        process = subprocess.Popen(_batch_command(out, "--chunk", "3"), stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        target = rng.randint(1, 30)
        while time.monotonic() < deadline and process.poll() is None:
            if partial.exists() and partial.read_bytes().count(b"\n") >= target:
                time.sleep(rng.random() * 0.5)
                process.send_signal(signal.SIGKILL)
                kills += 1
                break
            time.sleep(0.05)
        process.wait()
        assert not out.exists() or process.returncode == 0  # the output appears only when complete
    assert kills >= 1
    subprocess.run(_batch_command(out, "--chunk", "3"), check=True, stderr=subprocess.DEVNULL, timeout=300)
    assert not partial.exists() and not Path(str(out) + ".partial.json").exists()
    assert [json.loads(line) for line in out.read_text().splitlines()] == decided


def test_a_changed_log_is_not_resumed(tmp_path):
    out = tmp_path / "d.jsonl"
    partial = Path(str(out) + ".partial")
    partial.write_text('{"line": 1, "id": "stale"}\n')
    Path(str(out) + ".partial.json").write_text('{"events": "another log"}')
    run(str(LOG / "events.jsonl"), str(out), SETTINGS, progress=False)
    assert "stale" not in out.read_text() and len(out.read_text().splitlines()) == 40


def test_workers_give_the_same_file(decided, tmp_path):
    out = tmp_path / "w.jsonl"
    run(str(LOG / "events.jsonl"), str(out), SETTINGS, workers=2, chunk=7, progress=False)
    assert [json.loads(line) for line in out.read_text().splitlines()] == decided


@pytest.mark.parametrize("workers, threads", [(2, 1), (1, 2)])
def test_a_dask_cluster_gives_the_same_file(tmp_path, workers, threads):
    """A real LocalCluster on loopback, of two worker processes or of one with two threads (dask worker's default
    here: threads that once mixed events): the output equals one process's, byte for byte."""
    distributed = pytest.importorskip("distributed")
    single = tmp_path / "single.jsonl"
    run(str(LOG / "events.jsonl"), str(single), SETTINGS, progress=False)
    out = tmp_path / "dask.jsonl"
    with distributed.LocalCluster(
        n_workers=workers, threads_per_worker=threads, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        run(str(LOG / "events.jsonl"), str(out), SETTINGS, scheduler=cluster.scheduler_address, chunk=5, progress=False)
    assert all(json.loads(line).get("decision") not in (None, "None") for line in out.read_text().splitlines())
    assert sorted(out.read_bytes().splitlines()) == sorted(single.read_bytes().splitlines())
    assert out.read_bytes() == single.read_bytes()  # and in input order


def test_an_unreachable_scheduler_is_one_line(tmp_path, capsys):
    args = _batch_command(tmp_path / "o.jsonl", "--scheduler", "tcp://127.0.0.1:9")[3:]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Dask scheduler" in err
    assert not (tmp_path / "o.jsonl").exists()


def test_progress_goes_to_a_terminal_only(tmp_path):
    """No progress bar when standard error is not a terminal; the summary line is always there."""
    done = subprocess.run(
        _batch_command(tmp_path / "o.jsonl"), capture_output=True, text=True, timeout=300, env=os.environ
    )
    assert done.returncode == 0
    assert done.stderr.count("\n") == 1 and "40 events" in done.stderr and "events/s" in done.stderr


NO_NETWORK = """
import sys

def refuse(event, args):
    if event.startswith(("socket.", "urllib.Request", "http.client")) and event != "socket.__new__":
        raise RuntimeError(f"network access attempted: {event} {args!r}")

sys.addaudithook(refuse)
from reasoner.cli import main
sys.exit(main(["batch", *sys.argv[1:]]))
"""


def test_batch_fetches_nothing(tmp_path):
    """An audit hook fails on any socket or URL request while a log naming remote IRIs is decided."""
    log = tmp_path / "log.jsonl"
    lines = (LOG / "events.jsonl").read_text().splitlines()[:5]
    remote = {"id": "r1", "act": "Disclosure", "actor": "clinic6", "recipient": "https://example.org/who"}
    log.write_text("\n".join([*lines, json.dumps(remote | {"subject": "https://example.org/patient"})]) + "\n")
    out = tmp_path / "out.jsonl"
    args = [str(log), "--parties", str(LOG / "parties.yaml"), "-o", str(out), "--as-of", "2026-11-24"]
    done = subprocess.run([sys.executable, "-c", NO_NETWORK, *args], capture_output=True, text=True, timeout=300)
    assert "network access attempted" not in done.stdout + done.stderr
    assert done.returncode in (0, 1), done.stderr
    assert len(out.read_text().splitlines()) == 6


def test_memory_stays_flat_the_caches_are_bounded_by_bytes(tmp_path):
    """The decider's caches (cases, records, reached parties) never hold more than their byte budget, however
    many distinct events pass: LRU caches sized by an estimate of each entry's bytes."""
    from reasoner.batch import _decider
    from reasoner.cases import Decider

    shared = _decider(SETTINGS)
    decider = Decider(shared.reasoner, shared.parties, DAY, megabytes=1, explain="none")
    budget = 1 << 20
    assert decider.cases.maxsize + decider.templates.maxsize + decider.reaches.maxsize <= budget
    events = [json.loads(line) for line in (LOG / "events.jsonl").read_text().splitlines()]
    seen = 0
    for copy in range(30):  # each copy a new id and new facts: every event keyed anew
        chunk = [(i, {**e, "id": f"{e['id']}-{copy}", "requiredByLaw": bool(copy % 2)}) for i, e in enumerate(events)]
        decider.records(chunk)
        seen += len(chunk)
        for cache in (decider.cases, decider.templates, decider.reaches):
            assert cache.currsize <= cache.maxsize
    assert seen == 1200 and len(decider.cases) < seen
