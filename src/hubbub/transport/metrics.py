"""``/metrics`` in the Prometheus text format, read from the node's own counters at scrape.

The hot paths only bump plain ints and ``stats.Histogram`` buckets where they are (the hub,
the connections, the storage writer, the server state); this collector turns them into
metric families when a scrape asks, and sums what is cheaper to sum then (the bytes waiting
in every connection's outbox, the connections by protocol).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Iterator

from aiohttp import web
from aiohttp.typedefs import Handler
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from hubbub.broker.redis import RedisBroker
from hubbub.stats import CommitStats, Histogram
from hubbub.transport.connection import JsonConnection, PlainConnection
from hubbub.transport.context import ServerState

PROTOCOLS = ((JsonConnection, "hubbub.v1"), (PlainConnection, "plain"))


def _histogram(name: str, documentation: str, histogram: Histogram) -> HistogramMetricFamily:
    buckets = [(_le(bound), count) for bound, count in histogram.cumulative()]
    return HistogramMetricFamily(name, documentation, buckets=buckets, sum_value=histogram.sum)


def _le(bound: float) -> str:
    return "+Inf" if bound == math.inf else repr(float(bound))


def _labelled(
    family: CounterMetricFamily, counts: Iterable[tuple[tuple[str, ...], int]]
) -> CounterMetricFamily:
    for labels, value in sorted(counts):
        family.add_metric(list(labels), value)
    return family


class _NodeCollector(Collector):
    def __init__(self, state: ServerState) -> None:
        self._state = state

    def collect(self) -> Iterator[Metric]:
        state = self._state
        hub = state.node.hub
        yield from self._connections()
        yield GaugeMetricFamily(
            "hubbub_sessions", "Signed-in hubbub.v1 connections", value=hub.connections - hub.guests
        )
        yield GaugeMetricFamily(
            "hubbub_outbox_bytes",
            "Bytes written to connections that their peers have not taken yet, in all",
            value=sum(connection.unsent for connection in list(state.connections)),
        )
        yield CounterMetricFamily(
            "hubbub_events_delivered",
            "Frames of committed room events handed to this node's connections",
            value=hub.delivered,
        )
        yield _histogram(
            "hubbub_delivery_latency_seconds",
            "From an event's ts (taken as it is accepted, before its commit) to the write of"
            " its frame to each connection of this node, one observation per frame",
            hub.delivery_latency,
        )
        yield from self._commits()
        yield CounterMetricFamily(
            "hubbub_slow_consumers_dropped",
            "Connections cut off for not reading",
            value=state.slow_consumers_dropped,
        )
        yield CounterMetricFamily(
            "hubbub_ping_timeouts",
            "Connections closed for not answering a ping",
            value=state.ping_timeouts,
        )
        yield _labelled(
            CounterMetricFamily(
                "hubbub_rate_limited",
                "Requests refused for their rate limit, by protocol and request",
                labels=["protocol", "kind"],
            ),
            state.rate_limited.items(),
        )
        yield _labelled(
            CounterMetricFamily(
                "hubbub_errors",
                "Error answers (HTTP responses, hubbub.v1 error frames), by protocol and code",
                labels=["protocol", "code"],
            ),
            state.errors.items(),
        )
        yield _labelled(
            CounterMetricFamily(
                "hubbub_ws_closes", "WebSocket close frames sent, by close code", labels=["code"]
            ),
            (((str(code),), count) for code, count in state.closes.items()),
        )
        yield _labelled(
            CounterMetricFamily(
                "hubbub_handshakes_refused",
                "WebSocket handshakes the front door refused, by HTTP status (403 Origin or"
                " guests off, 429 and 503 connection caps, 400 and 404 bad requests …)",
                labels=["status"],
            ),
            (((str(status),), count) for status, count in state.handshakes_refused.items()),
        )
        broker = state.node.broker
        if isinstance(broker, RedisBroker):
            yield CounterMetricFamily(
                "hubbub_broker_dropped",
                "Payloads never published to Redis (queue full, or Redis out of reach)",
                value=broker.dropped,
            )

    def _connections(self) -> Iterator[Metric]:
        counts: Counter[str] = Counter()
        for connection in list(self._state.connections):
            for cls, protocol in PROTOCOLS:
                if isinstance(connection, cls):
                    counts[protocol] += 1
        family = GaugeMetricFamily(
            "hubbub_connections",
            "Open WebSocket connections (signed in or not yet), by protocol",
            labels=["protocol"],
        )
        for _, protocol in PROTOCOLS:
            family.add_metric([protocol], counts[protocol])
        yield family

    def _commits(self) -> Iterator[Metric]:
        stats = getattr(self._state.node.storage, "commit_stats", None)
        if not isinstance(stats, CommitStats):  # a storage that keeps none
            return
        yield CounterMetricFamily(
            "hubbub_events_committed", "Events committed by this node", value=stats.events
        )
        yield CounterMetricFamily(
            "hubbub_commits_failed",
            "Write batches whose transaction failed (nothing of them was committed)",
            value=stats.failed,
        )
        yield _histogram(
            "hubbub_commit_batch_size", "Writes per committed transaction", stats.batch_size
        )
        yield _histogram(
            "hubbub_commit_seconds",
            "From a write batch's BEGIN to its COMMIT done (the fsync included)",
            stats.seconds,
        )


def metrics_handler(state: ServerState) -> Handler:
    registry = CollectorRegistry()
    registry.register(_NodeCollector(state))

    async def metrics(request: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(registry), content_type="text/plain", charset="utf-8"
        )

    return metrics
