"""Several workers on one database share the targets: each slot of a target is scraped once."""

import threading
from collections import Counter
from datetime import timedelta

from sqlmodel import Session, select

from collector.config import ScrapeConfig
from collector.models import ScrapeRun
from collector.pool import ScrapePool, offset_ms
from core.clock import utcnow
from core.db import create_db_engine
from tests.collector.metrics_server import Route, metrics_server
from tests.collector.test_scrape import make_target


def test_two_workers_ticking_together_scrape_each_slot_of_each_target_once(engine, database_url):
    other_engine = create_db_engine(database_url)  # the second worker's own connections
    paths = [f"/t{i}" for i in range(4)]
    with metrics_server({p: Route(body=f"m {i}\n") for i, p in enumerate(paths)}) as srv:
        targets = [
            make_target(engine, srv.url(p), job="w", interval_s=1.0, timeout_s=1.0) for p in paths
        ]
        pools = [ScrapePool(e, ScrapeConfig(), utcnow) for e in (engine, other_engine)]
        # ticks every 250 ms over 4 s of (given) time: slots 0..4 of a 1 s interval, each
        # target crossing a slot boundary 4 times after the first tick
        start = utcnow()
        ticks = [start + timedelta(milliseconds=250 * k) for k in range(17)]
        by_pool: list[Counter] = [Counter(), Counter()]
        barrier = threading.Barrier(2)

        def run(index: int) -> None:
            pool = pools[index]
            for k, at in enumerate(ticks):
                barrier.wait(timeout=30)  # both workers tick at the same moment
                for future in pool.tick(at, first_now=k == 0):
                    outcome = future.result(timeout=30)
                    assert outcome.up, outcome.error
                    by_pool[index][(outcome.target_id, slot(at, outcome.target_id))] += 1

        def slot(at, target_id):
            url = srv.url(paths[[t.id for t in targets].index(target_id)])
            return (int(at.timestamp() * 1000) - offset_ms("w", url, 1000)) // 1000

        threads = [threading.Thread(target=run, args=(i,)) for i in (0, 1)]
        try:
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=120)
        finally:
            for pool in pools:
                pool.shutdown()
            other_engine.dispose()
    scraped = by_pool[0] + by_pool[1]
    assert all(count == 1 for count in scraped.values())  # no slot twice
    per_target = Counter(target_id for target_id, _ in scraped)
    assert per_target == {t.id: 5 for t in targets}  # the first tick and 4 boundaries
    assert len(srv.requests) == 5 * len(targets)
    with Session(engine) as session:
        runs = session.exec(select(ScrapeRun.target_id)).all()
    assert Counter(runs) == per_target


def test_a_target_added_between_schedule_reads_is_seen_and_started_at_its_offset(engine):
    from datetime import timedelta

    from collector.models import Target
    from collector.pool import SCHEDULE_MAX_AGE_MS

    pool = ScrapePool(engine, ScrapeConfig(), utcnow)
    make_target(engine, "http://127.0.0.1:9/a", interval_s=60.0, timeout_s=1.0)
    start = utcnow()
    pool.due_targets(start)  # reads the schedule, arms the first target for its next slot
    added = make_target(engine, "http://127.0.0.1:9/b", interval_s=60.0, timeout_s=1.0)
    seen_by = start + timedelta(milliseconds=SCHEDULE_MAX_AGE_MS)
    pool.due_targets(seen_by)  # (the first target may be due by then: its offset decides)
    with Session(engine) as session:
        armed_at = session.get(Target, added.id).next_scrape_at
    assert armed_at is not None and seen_by < armed_at <= seen_by + timedelta(seconds=60)
    assert added.id in [t.id for t in pool.due_targets(armed_at)]
