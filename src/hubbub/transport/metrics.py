"""``/metrics`` in the Prometheus text format, read from the node's own counters at scrape."""

from __future__ import annotations

from collections.abc import Iterator

from aiohttp import web
from aiohttp.typedefs import Handler
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from hubbub.transport.context import ServerState


class _NodeCollector(Collector):
    def __init__(self, state: ServerState) -> None:
        self._state = state

    def collect(self) -> Iterator[Metric]:
        hub = self._state.node.hub
        yield GaugeMetricFamily(
            "hubbub_connections", "Open WebSocket connections", value=hub.connections
        )
        yield CounterMetricFamily(
            "hubbub_deliveries", "Frames handed to connections by the fan-out", value=hub.deliveries
        )
        yield CounterMetricFamily(
            "hubbub_slow_consumers_dropped",
            "Connections cut off for not reading",
            value=self._state.slow_consumers_dropped,
        )


def metrics_handler(state: ServerState) -> Handler:
    registry = CollectorRegistry()
    registry.register(_NodeCollector(state))

    async def metrics(request: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(registry), content_type="text/plain", charset="utf-8"
        )

    return metrics
