"""``hipaa-kg batch``: decide an audit log, one decision record per event, in input order.

The log is read in chunks, so memory stays flat as it grows. Chunks are decided
in this process, on local worker processes (``workers``), or on a Dask
distributed cluster (``scheduler``: a window of futures, one a chunk); each
process decides each distinct case once (cases.py). Workers end with the run.

Nothing is lost: records are appended to ``OUT.partial``, flushed chunk by
chunk, beside a manifest naming the inputs. A run that is killed and started
again with the same inputs keeps the complete lines, drops a half-written last
line, and goes on from the next event; the finished file is renamed to OUT, so
OUT is never half-written. One run at a time writes an output (``OUT.lock``).
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import json
import os
import signal
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from itertools import islice
from pathlib import Path

from .errors import HipaaKgError

CHUNK = 2000  # events per chunk
PR_SET_PDEATHSIG = 1  # linux/prctl.h
MANIFEST_VERSION = 1


@dataclass(frozen=True)
class Settings:
    """What decides a log's records: the same settings give the same records in every process."""

    parties: str
    as_of: dt.date
    engine: str = "oxigraph"
    explain: str = "why-not"  # counterfactuals: none, why-not (for decisions other than permitted) or all


@dataclass
class Summary:
    events: int = 0
    resumed: int = 0
    outcomes: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    def line(self, output: str) -> str:
        rate = (self.events - self.resumed) / self.seconds if self.seconds else 0.0
        counts = ", ".join(f"{n} {k}" for k, n in sorted(self.outcomes.items()))
        resumed = f" ({self.resumed} from an earlier run)" if self.resumed else ""
        return f"{output}: {self.events} events{resumed}: {counts}; {self.seconds:.1f} s, {rate:,.0f} events/s"

    @property
    def failed(self) -> bool:
        return bool(self.outcomes["malformed"] or self.outcomes["invalid"])


# --- deciding a chunk (in any process) ----------------------------------------------

_reasoners: dict[str, object] = {}  # engine -> this process's reasoner, built once
_deciders: dict[tuple, object] = {}  # (settings, thread) -> its decider (a decider's caches are its thread's own)
_building = threading.Lock()


def _decider(settings: Settings):
    """This thread's decider for these settings, built on first use; the reasoner is built once per process.

    A Dask worker runs several threads: the reasoner (ontology, rules, shapes) is shared and
    built under a lock; each thread has its own decider and, in the engine, its own store.
    """
    key = (settings, threading.get_ident())
    found = _deciders.get(key)
    if found is None:
        from .cases import Decider, Parties
        from .decide import Reasoner
        from .scenario import load

        with _building:
            reasoner = _reasoners.get(settings.engine)
            if reasoner is None:
                reasoner = _reasoners[settings.engine] = Reasoner(engine=settings.engine)
            parties = Parties.load(reasoner, load(settings.parties))
            if len(_deciders) > 16:
                _deciders.clear()
            found = _deciders[key] = Decider(reasoner, parties, settings.as_of, explain=settings.explain)
    return found


class Cancelled(Exception):
    """The run a chunk was deciding for is gone (its Dask future was cancelled): the chunk stops."""


def decide_chunk(
    chunk: list[tuple[int, object]], settings: Settings, cancelled: Callable[[], bool] | None = None
) -> list[tuple[str, str]]:
    """Each event's record line and its outcome (a decision, 'invalid' or 'malformed').

    ``cancelled`` is asked before each event is keyed and before the chunk's new cases are decided
    (together); when it says so, the chunk raises Cancelled.
    """
    from .events import EventError

    decider = _decider(settings)

    def check() -> None:
        if cancelled is not None and cancelled():
            raise Cancelled

    good = [(number, event) for number, event in chunk if not isinstance(event, EventError)]
    decided = iter(decider.records(good, check))  # the chunk's new cases decided together
    return [
        (json.dumps({"line": number, "error": str(event)}), "malformed")
        if isinstance(event, EventError)
        else next(decided)
        for number, event in chunk
    ]


# --- the run ------------------------------------------------------------------------


def run(
    events: str,
    output: str,
    settings: Settings,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    strict: bool = False,
    progress: bool | None = None,
    chunk: int = CHUNK,
    report: Callable[[str], None] | None = None,
) -> Summary:
    """Decide the log EVENTS into OUTPUT (JSON Lines); resume an interrupted run of the same inputs."""
    from .events import Columns, read_events
    from .ontology import load_ontology

    started = time.perf_counter()
    columns = Columns(load_ontology())
    partial, manifest = Path(output + ".partial"), Path(output + ".partial.json")
    with _locked(output):  # before anything else: a second run on this output is refused at once
        identity = _identity(events, settings)
        _decider(settings)  # read PARTIES here first: a bad file is one error before any worker starts
        summary, bar, decided, stopped = Summary(), None, None, False
        try:
            summary.resumed = _resume(partial, manifest, identity)
            bar = _bar(_count(events) if _show(progress) else None, summary.resumed, progress)
            stream = _chunks(islice(read_events(events, columns), summary.resumed, None), chunk)
            decided = _decided(stream, settings, workers, scheduler)
            with _appending(partial) as out:
                for results in decided:
                    for text, outcome in results:
                        if outcome in ("malformed", "invalid"):
                            problem = _problem(events, text)
                            if strict and outcome == "malformed":
                                stopped = True
                                raise HipaaKgError(f"{problem} (--strict)")
                            if report:
                                report(problem)
                        summary.outcomes[outcome] += 1
                    with _writing(partial):
                        out.write("".join(text + "\n" for text, _ in results))
                        out.flush()
                        os.fsync(out.fileno())
                    bar.update(len(results))
            with _writing(output):
                os.replace(partial, output)
            manifest.unlink(missing_ok=True)
        except HipaaKgError:
            if stopped or not _size(partial):  # nothing to resume: leave nothing behind
                partial.unlink(missing_ok=True)
                manifest.unlink(missing_ok=True)
            raise
        finally:
            if decided is not None:
                decided.close()  # the workers stop here, whatever ended the run
            if bar is not None:
                bar.close()
    summary.events = summary.resumed + sum(summary.outcomes.values())
    summary.seconds = time.perf_counter() - started
    return summary


@contextmanager
def _appending(partial: Path) -> Iterator:
    """``partial`` open for appending records; an error while opening or closing it is one line."""
    with _writing(partial):
        out = open(partial, "a", encoding="utf-8")  # noqa: SIM115 (closed below)
    try:
        yield out
    finally:
        with _writing(partial):
            out.close()  # flushes what is left: a full disk may show here


@contextmanager
def _writing(path: Path | str) -> Iterator[None]:
    """An OSError while writing PATH as one line naming it (a full disk said so); what was written stays."""
    try:
        yield
    except OSError as e:
        if e.errno == errno.ENOSPC:
            raise HipaaKgError(
                f"{path}: no space left on device (what was written is kept: run again to resume)"
            ) from None
        raise HipaaKgError(f"{path}: cannot write the output: {e.strerror or e}") from None


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


@contextmanager
def _locked(output: str) -> Iterator[None]:
    """Hold ``OUTPUT.lock`` for the run: another run on the same output is refused while this one lives.

    The lock is an flock, so the kernel releases it whatever ends the process; a lock
    file left by a killed run is taken over by the next. The file is removed, still
    locked, at the end; a run that locked it just before is sent back to the new one.
    """
    import fcntl

    path = Path(output + ".lock")
    while True:
        with _writing(path):
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(fd)
            if e.errno in (errno.EAGAIN, errno.EACCES):
                raise HipaaKgError(f"{output}: another batch run is writing this output; wait for it to end") from None
            raise HipaaKgError(f"{path}: cannot lock the output: {e.strerror or e}") from None
        try:
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(fd)  # the file was removed by a run that just ended: lock the one there now
    try:
        yield
    finally:
        path.unlink(missing_ok=True)
        os.close(fd)


def _problem(events: str, text: str) -> str:
    """One line naming the event's line and what is wrong (never its values)."""
    record = json.loads(text)
    where = f"{events}:{record['line']}"
    if "error" in record:
        return f"{where}: {record['error']}"
    first = next((v for v in record["violations"] if v["severity"] == "Violation"), record["violations"][0])
    path = f" {first['path']}:" if first.get("path") else ""
    return f"{where}: event '{record['id']}' is invalid: node '{first['focusNode']}':{path} {first['message']}"


def _decided(stream: Iterator[list], settings: Settings, workers: int, scheduler: str | None) -> Iterator[list]:
    """The chunks' results in input order, with at most a few chunks in flight.

    Other processes are given PARTIES as an absolute path: a worker's folder may not be ours.
    """
    elsewhere = replace(settings, parties=os.path.abspath(settings.parties))
    if scheduler:
        yield from _on_dask(stream, elsewhere, scheduler)
    elif workers > 1:
        yield from _on_processes(stream, elsewhere, workers)
    else:
        for piece in stream:
            yield decide_chunk(piece, settings)


def _on_processes(stream, settings: Settings, workers: int) -> Iterator[list]:
    """Chunks decided on local worker processes, which end with this process however it ends."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no threads or locks inherited
    pool = context.Pool(workers, initializer=_tied_to_parent, initargs=(os.getpid(),))
    try:
        pending: deque = deque()
        for piece in stream:
            pending.append(pool.apply_async(decide_chunk, (piece, settings)))
            if len(pending) >= 2 * workers:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()
    finally:  # an exception, Ctrl-C, SIGTERM (the command makes it an exit), or the run's end
        pool.terminate()
        pool.join()


def _tied_to_parent(parent: int) -> None:
    """Pool initializer: this worker ends when its parent does, even by SIGKILL, which runs no cleanup.

    On Linux the kernel sends SIGKILL when the parent dies (PR_SET_PDEATHSIG); elsewhere,
    and as a fallback, a thread polls the parent's id. Ctrl-C is left to the parent,
    which then ends the pool. multiprocessing's resource tracker ends by itself once
    the parent and the workers are gone (its pipe closes).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent ended before the line above
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), name="watch-parent", daemon=True).start()


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def _on_dask(stream, settings: Settings, scheduler: str) -> Iterator[list]:
    """Chunks decided on a Dask cluster, a window of futures at a time; the run's futures are cancelled
    when it ends early (an exception, Ctrl-C, SIGTERM). If the client is killed, the scheduler
    releases its futures when the connection drops, and a chunk running then stops at its next check
    (``decide_chunk``).
    """
    from distributed import Client

    try:
        client = Client(scheduler, timeout="10s")
    except OSError as e:
        raise HipaaKgError(f"cannot reach the Dask scheduler at {scheduler}: {e}") from None
    with client:
        window = 2 * max(1, sum(client.nthreads().values()))
        pending: deque = deque()
        try:
            for piece in stream:
                pending.append(client.submit(_decide_on_worker, piece, settings, pure=False))
                if len(pending) >= window:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            if pending:
                client.cancel(list(pending))


def _decide_on_worker(chunk: list[tuple[int, object]], settings: Settings) -> list[tuple[str, str]]:
    """decide_chunk as a Dask task: an error names the worker; a cancelled task stops at its next check."""
    from distributed import get_worker
    from distributed.worker import thread_state

    worker = get_worker()
    key = getattr(thread_state, "key", None)

    def cancelled() -> bool:
        task = worker.state.tasks.get(key) if key is not None else None
        return task is not None and task.state == "cancelled"

    try:
        return decide_chunk(chunk, settings, cancelled)
    except HipaaKgError as e:
        raise HipaaKgError(f"the Dask worker at {worker.address}: {e}") from None


def _chunks(events: Iterator, size: int) -> Iterator[list]:
    while piece := list(islice(events, size)):
        yield piece


# --- resuming -----------------------------------------------------------------------


def _identity(events: str, settings: Settings) -> dict:
    from importlib.metadata import version

    return {
        "version": MANIFEST_VERSION,
        "hipaa-kg": version("hipaa-kg"),
        "events": _digest(events),
        "parties": _digest(settings.parties),
        "asOf": settings.as_of.isoformat(),
        "engine": settings.engine,
        "explain": settings.explain,
    }


def _digest(path: str) -> str:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            while block := f.read(1 << 20):
                digest.update(block)
    except OSError as e:
        raise HipaaKgError(f"{path}: cannot read the file: {e.strerror or e}") from None
    return digest.hexdigest()


def _resume(partial: Path, manifest: Path, identity: dict) -> int:
    """How many records an interrupted run of the same inputs left (its half-written line dropped); 0 if none.

    For other inputs, ``.partial`` is emptied and made durable before the manifest
    names the new inputs: a kill between the steps leaves an empty file, never
    records of one input under a manifest of another.
    """
    try:
        earlier = json.loads(manifest.read_text(encoding="utf-8")) if manifest.exists() else None
    except (OSError, ValueError):
        earlier = None
    with _writing(partial):
        if earlier == identity and partial.exists():
            with open(partial, "rb+") as f:
                data = f.read()
                keep = data.rfind(b"\n") + 1
                f.truncate(keep)
            return data[:keep].count(b"\n")
        with open(partial, "wb") as f:
            os.fsync(f.fileno())
    _write_manifest(manifest, identity)
    return 0


def _write_manifest(manifest: Path, identity: dict) -> None:
    temporary = manifest.with_name(manifest.name + ".tmp")
    with _writing(manifest):
        with open(temporary, "w", encoding="utf-8") as f:
            f.write(json.dumps(identity))
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, manifest)


# --- progress -----------------------------------------------------------------------


def _show(progress: bool | None) -> bool:
    return sys.stderr.isatty() if progress is None else progress


def _count(events: str) -> int:
    with open(events, "rb") as f:
        return sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 20), b""))


def _bar(total: int | None, done: int, progress: bool | None):
    from tqdm import tqdm

    return tqdm(
        total=total, initial=done, unit=" events", disable=not _show(progress), file=sys.stderr, dynamic_ncols=True
    )
