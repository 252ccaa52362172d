"""`GET /metrics`: the farm in the Prometheus text format, through prometheus-client.

Gauges and counters are read from the store on each scrape (a few grouped counts), so they
match it and survive restarts; the duration histograms are kept as bucket counts in the store
as runs report (farm_histograms), so a scrape never scans the run records. Only the claim
latency is this process's own (a prometheus-client Histogram): it measures this server.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

from engine.model.vocabulary import JobStatus, OrderStatus

from .db import Store, loads, now
from .stats import BUCKETS, JOB_SECONDS, NODE_SECONDS
from .waiting import LIVE_S

_OWN = CollectorRegistry(auto_describe=True)
CLAIM_SECONDS = Histogram("hartomat_claim_seconds", "Time the store took to hand a worker a job (this server)",
                          buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0), registry=_OWN)


def worker_labels(row: Any) -> dict[str, list[str]]:
    """What a live worker is counted under: its capabilities and, once workers have tags (a
    `tags` column: a JSON list or comma-separated), its tags."""
    tags: Any = row["tags"] if "tags" in row.keys() else None
    if isinstance(tags, str):
        try:
            tags = loads(tags, [])
        except ValueError:  # a comma-separated list
            tags = [t.strip() for t in tags.split(",") if t.strip()]
    return {"capability": loads(row["capabilities"], []), "tag": [str(t) for t in tags or []]}


class FarmCollector:
    """Reads the farm's state from the store on each collect()."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[Metric]:
        yield self._jobs()
        yield self._orders()
        yield from self._workers()
        yield from self._histograms()
        yield from self._cache()
        yield from self._store_size()
        yield from _OWN.collect()

    def _jobs(self) -> Metric:
        family = GaugeMetricFamily("hartomat_jobs", "Jobs by status and output type", labels=["status", "output_type"])
        counts = {(r["status"], r["output_type"]): r["n"] for r in self.store.all(
            "SELECT status, output_type, count(*) AS n FROM jobs GROUP BY status, output_type")}
        for output_type in sorted({t for _, t in counts}):
            for status in JobStatus:  # every status, 0 included: a series that vanishes reads as no data
                family.add_metric([status, output_type], counts.get((status, output_type), 0))
        return family

    def _orders(self) -> Metric:
        family = GaugeMetricFamily("hartomat_orders", "Orders by status", labels=["status"])
        counts = {r["status"]: r["n"] for r in self.store.all("SELECT status, count(*) AS n FROM orders GROUP BY status")}
        for status in OrderStatus:
            family.add_metric([status], counts.get(status, 0))
        return family

    def _workers(self) -> Iterator[Metric]:
        rows = self.store.all("SELECT * FROM workers WHERE last_seen >= ?", now() - LIVE_S)
        yield GaugeMetricFamily("hartomat_workers_live", "Workers seen within the liveness window", value=len(rows))
        for label in ("capability", "tag"):
            family = GaugeMetricFamily(f"hartomat_workers_live_by_{label}", f"Live workers by {label}",
                                       labels=[label])
            counts: dict[str, int] = {}
            for row in rows:
                for value in worker_labels(row)[label]:
                    counts[value] = counts.get(value, 0) + 1
            for value in sorted(counts):
                family.add_metric([value], counts[value])
            yield family

    def _histograms(self) -> Iterator[Metric]:
        rows = self.store.all("SELECT name, label, bucket, count, total FROM farm_histograms ORDER BY name, label")
        for name, label_name, what in ((JOB_SECONDS, "output_type", "Wall time of successful job runs"),
                                       (NODE_SECONDS, "step", "Wall time of nodes in finished runs")):
            family = HistogramMetricFamily(f"hartomat_{name}", what, labels=[label_name])
            by_label: dict[str, list[Any]] = {}
            for row in rows:
                if row["name"] == name:
                    by_label.setdefault(row["label"], []).append(row)
            for label, cells in sorted(by_label.items()):
                counts = [0] * (len(BUCKETS) + 1)
                for cell in cells:
                    counts[min(cell["bucket"], len(BUCKETS))] += cell["count"]
                cumulative, buckets = 0, []
                for bound, count in zip((*map(str, BUCKETS), "+Inf"), counts, strict=True):
                    cumulative += count
                    buckets.append((bound, cumulative))
                family.add_metric([label], buckets, sum(c["total"] for c in cells))
            yield family

    def _cache(self) -> Iterator[Metric]:
        counters = {r["name"]: r["value"] for r in self.store.all("SELECT name, value FROM farm_counters")}
        yield CounterMetricFamily("hartomat_farm_cache_hits", "Farm-cache lookups that found an entry",
                                  value=counters.get("cache_hits", 0))
        yield CounterMetricFamily("hartomat_farm_cache_misses", "Farm-cache lookups that found none",
                                  value=counters.get("cache_misses", 0))
        row = self.store.one("SELECT count(*) AS n, coalesce(sum(size), 0) AS bytes FROM cache_entries")
        yield GaugeMetricFamily("hartomat_farm_cache_bytes", "Bytes the farm-cache entries use",
                                value=row["bytes"] if row else 0)
        yield GaugeMetricFamily("hartomat_farm_cache_entries", "Farm-cache entries", value=row["n"] if row else 0)

    def _store_size(self) -> Iterator[Metric]:
        family = GaugeMetricFamily("hartomat_store_bytes", "Bytes the store uses", labels=["part"])
        database = sum(_size(f"{self.store.path}{suffix}") for suffix in ("", "-wal", "-shm"))
        row = self.store.one("SELECT count(*) AS n, coalesce(sum(size), 0) AS bytes FROM files")
        family.add_metric(["database"], database)
        family.add_metric(["files"], row["bytes"] if row else 0)
        yield family
        yield GaugeMetricFamily("hartomat_store_files", "Files the store keeps (STEP, media, parts, cache)",
                                value=row["n"] if row else 0)


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def scrape(store: Store) -> bytes:
    """One scrape in the Prometheus text format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FarmCollector(store))
    return generate_latest(registry)
