"""Prometheus metrics at ``/metrics``: deliveries by state, failures, the oldest wait (R16).

Read at each scrape, from the store (every worker's deliveries) and this process's
worker (its counters since start).  Counts only, no company, chat or file named; but
they are every company's volumes together, so a scrape must send the operator's metrics
token (``CHATREC_METRICS_TOKEN``) as a bearer token, compared in constant time.  Without
a token set, ``/metrics`` is disabled and answers 404, as an unknown path does (R18).
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import hmac
from collections.abc import Iterable
from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from starlette.exceptions import HTTPException

from chatrec.errors import AuthenticationError
from chatrec.live.loop_watch import LoopWatch
from chatrec.web.container import Container

router = APIRouter()


class DeliveryCollector(Collector):
    def __init__(self, container: Container) -> None:
        self._container = container

    def collect(self) -> Iterable[Metric]:
        stats = self._container.store.delivery_stats()
        counts = self._container.worker.counts
        yield CounterMetricFamily(
            "chatrec_deliveries_delivered",
            "Files this process confirmed on a recording platform.",
            value=counts.delivered,
        )
        yield CounterMetricFamily(
            "chatrec_deliveries_failed",
            "Delivery attempts of this process that failed and wait for a retry.",
            value=counts.failed,
        )
        yield CounterMetricFamily(
            "chatrec_destinations_blocked",
            "Times this process blocked a recording platform on a permanent error.",
            value=counts.blocked,
        )
        by_state = GaugeMetricFamily(
            "chatrec_deliveries", "Deliveries in the outbox, by state.", labels=["state"]
        )
        for state, count in stats.counts.items():
            by_state.add_metric([state.value], count)
        yield by_state
        oldest = stats.oldest_waiting_at
        age = 0.0 if oldest is None else (datetime.now(UTC) - oldest).total_seconds()
        yield GaugeMetricFamily(
            "chatrec_deliveries_oldest_pending_age_seconds",
            "Age of the oldest delivery not yet delivered (pending, delivering or blocked).",
            value=max(age, 0.0),
        )


class LoopCollector(Collector):
    """How late this process's event loop ran what was due (``live.loop_watch``)."""

    def __init__(self, watch: LoopWatch) -> None:
        self._watch = watch

    def collect(self) -> Iterable[Metric]:
        watch = self._watch
        buckets, running = [], 0
        for bound, count in zip((*watch.bounds, float("inf")), watch.counts, strict=True):
            running += count
            buckets.append(("+Inf" if bound == float("inf") else repr(bound), running))
        yield HistogramMetricFamily(
            "chatrec_event_loop_lateness_seconds",
            "How much later than due this process's event loop woke a timer: "
            "the wait every frame had behind other work.",
            buckets=buckets,
            sum_value=watch.total,
        )
        yield GaugeMetricFamily(
            "chatrec_event_loop_longest_stall_seconds",
            "The longest such wait since this process started.",
            value=watch.longest,
        )
        yield InfoMetricFamily(
            "chatrec_event_loop",
            "The event loop serving this process's sockets.",
            value={"implementation": watch.implementation or "not running"},
        )
        yield GaugeMetricFamily(
            "chatrec_gc_frozen_objects",
            "Objects built at start-up that full garbage collections skip (live.heap): "
            "walking them paused every frame.",
            value=gc.get_freeze_count(),
        )


def token_matches(authorization: str | None, token: str) -> bool:
    """Whether ``Authorization`` is ``Bearer <token>``; digests are compared, so neither the
    time taken nor the length tells a guesser how close they came."""
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(
        hashlib.sha256(given.strip().encode()).digest(), hashlib.sha256(token.encode()).digest()
    )


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    container: Container = request.app.state.container
    token = container.config.metrics_token
    if token is None:
        raise HTTPException(status_code=404)
    if not token_matches(request.headers.get("authorization"), token.get_secret_value()):
        raise AuthenticationError(
            "send the metrics token (CHATREC_METRICS_TOKEN) as Authorization: Bearer …"
        )
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DeliveryCollector(container))
    registry.register(LoopCollector(container.loop_watch))
    body = await asyncio.to_thread(generate_latest, registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
