"""Prometheus metrics, on a registry owned by the app rather than the module."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.request_seconds = Histogram(
            "meridian_http_request_duration_seconds",
            "HTTP request latency by route.",
            ["method", "route", "status"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.websockets = Gauge(
            "meridian_websocket_connections", "Open WebSocket connections.", registry=self.registry
        )
        self.rooms = Gauge(
            "meridian_rooms_active", "Rooms with a member here.", registry=self.registry
        )
        self.upload_bytes = Counter(
            "meridian_upload_bytes", "Bytes received by uploads.", registry=self.registry
        )
        self.bookings = Counter(
            "meridian_bookings", "Bookings made.", ["outcome"], registry=self.registry
        )
        self.signups = Counter("meridian_signups", "Accounts created.", registry=self.registry)

    def render(self) -> bytes:
        return generate_latest(self.registry)
