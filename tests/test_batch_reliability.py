"""hipaa-kg batch as an operator meets it: bad CSV lines, a byte order mark, two runs on one output,
a full disk, kills at every step, and workers that must end with their parent."""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reasoner import batch
from reasoner.batch import Settings, run
from reasoner.cli import main
from reasoner.errors import HipaaKgError

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


# --- two runs on one output ---------------------------------------------------------------


def _command(out: Path, *extra: str, log: Path = LOG / "events.jsonl") -> list[str]:
    return [
        sys.executable, "-m", "reasoner.cli", "batch", str(log), "--parties", PARTIES, "-o", str(out),
        "--as-of", DAY.isoformat(), *extra,
    ]  # fmt: skip


def _wait_for_lines(partial: Path, process: subprocess.Popen, lines: int, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not (partial.exists() and partial.read_bytes().count(b"\n") >= lines):
        assert process.poll() is None, "the run ended before it was caught in mid-run"
        assert time.monotonic() < deadline, "the run wrote nothing in time"
        time.sleep(0.05)


def test_a_second_run_on_the_same_output_is_refused_while_the_first_runs(tmp_path):
    """The first run is paused in mid-run; a second on the same output exits 2 with one line and touches nothing."""
    out = tmp_path / "decisions.jsonl"
    first = subprocess.Popen(_command(out, "--chunk", "2"), stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_lines(Path(f"{out}.partial"), first, 4)
        first.send_signal(signal.SIGSTOP)
        try:
            second = subprocess.run(_command(out, "--chunk", "2"), capture_output=True, text=True, timeout=300)
        finally:
            first.send_signal(signal.SIGCONT)
        assert second.returncode == 2
        assert second.stderr == f"hipaa-kg: {out}: another batch run is writing this output; wait for it to end\n"
        assert first.wait(timeout=300) == 0
    finally:
        first.kill()
        first.communicate()
    assert [r["line"] for r in _records(out)] == list(range(1, 41))  # each event exactly once
    assert sorted(p.name for p in tmp_path.iterdir()) == ["decisions.jsonl"]


def test_the_output_lock(tmp_path, monkeypatch):
    out = tmp_path / "d.jsonl"
    lock = tmp_path / "d.jsonl.lock"
    with batch._locked(str(out)):
        assert lock.exists()
        with pytest.raises(HipaaKgError, match=r"d\.jsonl: another batch run is writing this output"):
            run(str(LOG / "events.jsonl"), str(out), SETTINGS, progress=False)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["d.jsonl.lock"]  # the holder's files are untouched
    assert not lock.exists()

    lock.write_text("")  # left by a killed run: its lock went with its process
    with batch._locked(str(out)):
        pass
    assert not lock.exists()

    # A run that ends removes the lock file just after another opened it: the other must lock the new file.
    real_flock = fcntl.flock
    calls = []

    def flock_then_replaced(fd, operation):
        real_flock(fd, operation)
        if not calls:
            lock.unlink()
            lock.touch()
        calls.append(fd)

    monkeypatch.setattr(fcntl, "flock", flock_then_replaced)
    with batch._locked(str(out)):
        monkeypatch.setattr(fcntl, "flock", real_flock)
        assert len(calls) == 2
        with open(lock) as other, pytest.raises(BlockingIOError):
            fcntl.flock(other.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


# --- kills and a full disk -------------------------------------------------------------


class Killed(BaseException):
    """The process ends here, as with SIGKILL: no cleanup of its own."""


def _kill_after_replace(monkeypatch):
    real = os.replace

    def replace_then_die(*args, **kwargs):
        real(*args, **kwargs)
        raise Killed

    monkeypatch.setattr(os, "replace", replace_then_die)


def _kill_before_manifest(monkeypatch):
    def die(*args, **kwargs):
        raise Killed

    monkeypatch.setattr(batch, "_write_manifest", die)


@pytest.mark.parametrize("kill", [_kill_after_replace, _kill_before_manifest])
def test_a_kill_while_resuming_never_mixes_two_inputs(tmp_path, monkeypatch, kill):
    """A run of log A was interrupted; a run of a changed log B is killed inside _resume, and B is run again."""
    lines = (LOG / "events.jsonl").read_text().splitlines()
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text("\n".join(lines[:3]) + "\n")
    b.write_text("\n".join(lines[3:6]) + "\n")
    clean_b = tmp_path / "clean-b.jsonl"
    run(str(b), str(clean_b), SETTINGS, progress=False)
    work_a = tmp_path / "work-a.jsonl"
    run(str(a), str(work_a), SETTINGS, progress=False)

    out = tmp_path / "out.jsonl"
    Path(f"{out}.partial").write_bytes(work_a.read_bytes())  # A, interrupted just before its rename
    Path(f"{out}.partial.json").write_text(json.dumps(batch._identity(str(a), SETTINGS)))
    with monkeypatch.context() as patch:
        kill(patch)
        with pytest.raises(Killed):
            run(str(b), str(out), SETTINGS, progress=False)
    summary = run(str(b), str(out), SETTINGS, progress=False)
    assert summary.resumed == 0
    assert out.read_bytes() == clean_b.read_bytes()


class FullDisk:
    """A file that takes ROOM more characters, then fails as a full disk does (what fitted is written)."""

    def __init__(self, file, room: int):
        self.file, self.room = file, room

    def write(self, text: str) -> int:
        if len(text) > self.room:
            self.file.write(text[: self.room])
            self.file.flush()
            self.room = 0
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= len(text)
        return self.file.write(text)

    def __getattr__(self, name):
        return getattr(self.file, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.file.close()


def test_a_full_disk_is_one_line_and_what_was_written_resumes(tmp_path, monkeypatch, capsys):
    log = tmp_path / "log.jsonl"
    log.write_text("\n".join((LOG / "events.jsonl").read_text().splitlines()[:6]) + "\n")
    whole = tmp_path / "whole.jsonl"
    run(str(log), str(whole), SETTINGS, progress=False)
    first = whole.read_text().splitlines(keepends=True)
    room = sum(len(line) for line in first[:3]) + 10  # the second chunk of two fails in its second record

    real_open = open

    def open_on_a_full_disk(file, mode="r", *args, **kwargs):
        opened = real_open(file, mode, *args, **kwargs)
        return FullDisk(opened, room) if str(file).endswith(".partial") and "a" in mode else opened

    out = tmp_path / "out.jsonl"
    monkeypatch.setattr(batch, "open", open_on_a_full_disk, raising=False)
    assert _batch(log, out, "--chunk", "2") == 2
    monkeypatch.undo()
    assert capsys.readouterr().err == (
        f"hipaa-kg: {out}.partial: no space left on device (what was written is kept: run again to resume)\n"
    )
    partial = Path(f"{out}.partial")
    assert partial.read_text() == "".join(first[:3]) + first[3][:10]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "log.jsonl",
        "out.jsonl.partial",
        "out.jsonl.partial.json",
        "whole.jsonl",
    ]
    summary = run(str(log), str(out), SETTINGS, progress=False, chunk=2)
    assert summary.resumed == 3 and summary.events == 6
    assert out.read_bytes() == whole.read_bytes()


# --- evaluate -o ---------------------------------------------------------------------------

KILLED_WHILE_WRITING = """
import os, signal, sys
replace = os.replace

def killed_before_the_rename(source, target, **kwargs):
    if str(target) == sys.argv[-1]:
        os.kill(os.getpid(), signal.SIGKILL)
    replace(source, target, **kwargs)

os.replace = killed_before_the_rename
from reasoner.cli import main
main(sys.argv[1:])
"""
SCENARIO = str(ROOT / "examples" / "payment-claim-to-plan.yaml")


def test_a_kill_during_evaluate_o_leaves_no_visible_temporary_and_the_next_run_removes_it(tmp_path):
    out = tmp_path / "records.json"
    args = ["evaluate", SCENARIO, "--format", "json", "-o", str(out)]
    killed = subprocess.Popen([sys.executable, "-c", KILLED_WHILE_WRITING, *args])
    assert killed.wait(timeout=300) == -signal.SIGKILL
    assert [p.name for p in tmp_path.iterdir()] == [f".records.json.tmp-{killed.pid}"]  # nothing shows

    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        busy = tmp_path / f".records.json.tmp-{live.pid}"  # another process writing the same output now
        busy.write_text("")
        assert main(args) == 0  # removes the killed run's temporary, and leaves the live one's
        assert sorted(p.name for p in tmp_path.iterdir()) == [busy.name, "records.json"]
    finally:
        live.kill()
        live.wait()
    assert json.loads(out.read_text())["scenarios"][0]["conforms"] is True


# --- workers end with their parent ------------------------------------------------------


def _living(group: int) -> list[int]:
    """The processes of a process group that have not ended (zombies are ended), read from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # ended while we looked
        state, _parent, pgrp = text[text.rindex(")") + 2 :].split()[:3]
        if int(pgrp) == group and state not in ("Z", "X"):
            found.append(int(stat.parent.name))
    return found


@pytest.fixture(scope="module")
def big_log(tmp_path_factory) -> Path:
    """A generated log of 20,000 events (bench/make_log.py): a minute or more of work for two workers."""
    folder = tmp_path_factory.mktemp("log")
    make = [sys.executable, str(ROOT / "bench" / "make_log.py"), "--events", "20000", "--out", str(folder)]
    subprocess.run(make, check=True, capture_output=True, timeout=120)
    return folder


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
@pytest.mark.parametrize(
    ("how", "status"), [("SIGKILL", -signal.SIGKILL), ("SIGTERM", 128 + signal.SIGTERM), ("Ctrl-C", 130)]
)
def test_workers_end_with_their_parent(big_log, tmp_path, how, status):
    """batch --workers 2 is ended in mid-chunk: within seconds no process of its group is left.

    A first chunk of 1,000 events (hundreds of new cases) takes a worker several seconds,
    so a worker that outlived its parent would still be deciding when the group is looked at.
    """
    out = tmp_path / "d.jsonl"
    log, err = big_log / "events.jsonl", tmp_path / "stderr"
    command = [*_command(out, "--workers", "2", "--chunk", "1000", log=log)]
    command[command.index(PARTIES)] = str(big_log / "parties.yaml")
    with open(err, "w") as stderr:
        process = subprocess.Popen(command, start_new_session=True, stderr=stderr)
    group = process.pid
    try:
        deadline = time.monotonic() + 120
        while len(_living(group)) < 4:  # the command, two workers, multiprocessing's resource tracker
            assert process.poll() is None and time.monotonic() < deadline, "the workers did not start"
            time.sleep(0.1)
        time.sleep(3)  # the workers are deciding their first chunks
        assert process.poll() is None
        if how == "Ctrl-C":
            os.killpg(group, signal.SIGINT)  # a terminal sends it to the whole group
        else:
            process.send_signal(getattr(signal, how))
        assert process.wait(timeout=60) == status
        deadline = time.monotonic() + 5
        while _living(group) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _living(group) == []
    finally:
        process.kill()
        process.wait()
        for pid in _living(group):  # never leave a test's orphans to the tests after it
            os.kill(pid, signal.SIGKILL)
    if how != "SIGKILL":
        assert "Traceback" not in err.read_text()
        assert not Path(f"{out}.lock").exists()
    assert Path(f"{out}.partial.json").exists()  # what a later run resumes from


def test_workers_end_when_the_run_ends_by_an_exception(tmp_path):
    """--strict stops at a malformed line while chunks are in flight: the pool is gone when run() returns."""
    import multiprocessing

    log = tmp_path / "log.jsonl"
    lines = (LOG / "events.jsonl").read_text().splitlines()
    log.write_text("\n".join([*lines[:3], "{not json", *lines[3:12]]) + "\n")
    before = set(multiprocessing.active_children())  # a Dask cluster of another test may be running
    with pytest.raises(HipaaKgError, match="not valid JSON"):
        run(str(log), str(tmp_path / "d.jsonl"), SETTINGS, workers=2, chunk=2, strict=True, progress=False)
    assert set(multiprocessing.active_children()) == before
    assert list(tmp_path.iterdir()) == [log]


# --- Dask -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster():
    """A real LocalCluster on loopback: one worker process, one thread, started in this folder."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as started:
        yield started


def _running(client) -> int:
    """Tasks whose function is still running on a worker (a cancelled one runs until it returns)."""
    counts = client.run(lambda dask_worker: len(dask_worker.state.executing | dask_worker.state.long_running))
    return sum(counts.values())


def test_dask_workers_are_given_absolute_paths(cluster, tmp_path, monkeypatch):
    """PARTIES named relative to this folder is read by a worker started in another."""
    shutil.copy(PARTIES, tmp_path / "parties.yaml")
    (tmp_path / "log.jsonl").write_text("\n".join((LOG / "events.jsonl").read_text().splitlines()[:4]) + "\n")
    monkeypatch.chdir(tmp_path)
    args = ["batch", "log.jsonl", "--parties", "parties.yaml", "--as-of", DAY.isoformat()]
    assert main([*args, "-o", "out.jsonl", "--scheduler", cluster.scheduler_address]) == 0
    assert main([*args, "-o", "here.jsonl"]) == 0
    assert (tmp_path / "out.jsonl").read_bytes() == (tmp_path / "here.jsonl").read_bytes()


def test_a_dask_worker_that_cannot_read_parties_says_so_with_its_address(cluster, tmp_path, monkeypatch, capsys):
    parties, log = tmp_path / "parties.yaml", tmp_path / "log.jsonl"
    shutil.copy(PARTIES, parties)
    log.write_text("\n".join((LOG / "events.jsonl").read_text().splitlines()[:4]) + "\n")
    real_resume = batch._resume

    def resume_then_hide(*args):  # read here, then gone: as a worker on another machine sees it
        done = real_resume(*args)
        parties.unlink()
        return done

    monkeypatch.setattr(batch, "_resume", resume_then_hide)
    args = ["batch", str(log), "--parties", str(parties), "-o", str(tmp_path / "out.jsonl")]
    assert main([*args, "--scheduler", cluster.scheduler_address]) == 2
    (worker,) = cluster.scheduler_info["workers"]
    assert capsys.readouterr().err == (
        f"hipaa-kg: the Dask worker at {worker}: {parties}: cannot read the file: No such file or directory\n"
    )
    assert list(tmp_path.iterdir()) == [log]


def test_a_dask_run_that_ends_by_an_exception_leaves_nothing_on_the_cluster(cluster, tmp_path):
    distributed = pytest.importorskip("distributed")
    log = tmp_path / "log.jsonl"
    lines = (LOG / "events.jsonl").read_text().splitlines()
    log.write_text("\n".join([*lines[:3], "{not json", *lines[3:20]]) + "\n")
    with pytest.raises(HipaaKgError, match="not valid JSON"):
        run(str(log), str(tmp_path / "d.jsonl"), SETTINGS, scheduler=cluster.scheduler_address, chunk=2, strict=True)
    with distributed.Client(cluster.scheduler_address) as watcher:
        deadline = time.monotonic() + 30
        while watcher.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks)) or _running(watcher):
            assert time.monotonic() < deadline, "the run's tasks are still on the cluster"
            time.sleep(0.2)


@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM"])
def test_a_killed_dask_client_leaves_no_task_running(cluster, big_log, tmp_path, how):
    """The client is killed while the worker decides a chunk of 2,000 events (seconds of work): within
    seconds the scheduler holds none of its tasks and the worker runs none."""
    distributed = pytest.importorskip("distributed")
    out = tmp_path / "d.jsonl"
    command = _command(out, "--scheduler", cluster.scheduler_address, "--chunk", "2000", log=big_log / "events.jsonl")
    command[command.index(PARTIES)] = str(big_log / "parties.yaml")
    with distributed.Client(cluster.scheduler_address) as watcher:
        process = subprocess.Popen(command, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 120
            while not _running(watcher):
                assert process.poll() is None and time.monotonic() < deadline, "no chunk was sent"
                time.sleep(0.2)
            time.sleep(3)  # deciding
            process.send_signal(getattr(signal, how))
            process.wait(timeout=60)
        finally:
            process.kill()
            process.wait()
        deadline = time.monotonic() + 20
        while watcher.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks)) or _running(watcher):
            assert time.monotonic() < deadline, "a task of the killed client is still on the cluster"
            time.sleep(0.2)
