"""Deciding is safe under threads: one reasoner per process, built once under a lock; no shared mutable store.

A Dask worker runs 2 threads by default here; before the fix, two threads building the reasoner at once
crashed in rdflib's SPARQL parser, and two threads sharing one engine mixed the events of a log. The real
1-worker, 2-thread cluster is tests/test_batch.py::test_a_dask_cluster_gives_the_same_file.
"""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from reasoner import batch
from reasoner.batch import Settings, decide_chunk
from reasoner.events import Columns, read_events
from reasoner.ontology import load_ontology

ROOT = Path(__file__).resolve().parent.parent
LOG = ROOT / "examples" / "audit-log"
DAY = dt.date(2026, 11, 24)
SETTINGS = Settings(parties=str(LOG / "parties.yaml"), as_of=DAY)


@pytest.fixture(scope="module")
def events() -> list[tuple[int, object]]:
    return list(read_events(str(LOG / "events.jsonl"), Columns(load_ontology())))


def test_threads_in_one_process_decide_as_one_thread(events):
    """Two threads calling the batch decider at once, cold (the reasoner not built yet), then warm."""
    batch._deciders.clear()
    alone = None
    for _ in range(2):  # cold, then warm
        with ThreadPoolExecutor(2) as pool:
            chunks = [events[i::4] for i in range(4)]
            together = list(pool.map(decide_chunk, chunks, [SETTINGS] * 4))
        if alone is None:
            batch._deciders.clear()
            alone = [decide_chunk(chunk, SETTINGS) for chunk in chunks]
        assert together == alone


def test_threads_with_other_dates_do_not_mix(events):
    """Threads deciding under two dates at once: each record keeps its own date's rules."""
    other = Settings(parties=SETTINGS.parties, as_of=DAY.replace(year=2012))
    batch._deciders.clear()
    alone = [decide_chunk(events, SETTINGS), decide_chunk(events, other)]
    with ThreadPoolExecutor(2) as pool:
        together = list(pool.map(decide_chunk, [events, events], [SETTINGS, other]))
    assert together == alone
