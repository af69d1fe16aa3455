"""The server's Prometheus metrics, in a registry of its own (several apps never share one)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


class Metrics:
    """Request latency by route, queue depth, batch sizes, encoded tokens, pairs scored, writes."""

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        self.latency = Histogram(
            "kglink_request_seconds", "Request latency", ["route", "method", "status"], registry=r
        )
        self.queue_depth = Gauge("kglink_queue_depth", "Jobs waiting in the batching queue", registry=r)
        self.batch_size = Histogram(
            "kglink_batch_size", "Jobs encoded in one forward pass", buckets=BATCH_BUCKETS, registry=r
        )
        self.tokens = Counter("kglink_encoded_tokens", "Tokens encoded for requests", registry=r)
        self.pairs = Counter(
            "kglink_pairs_scored", "Exact synonym pair scores computed", ["graph"], registry=r
        )
        self.writes = Counter("kglink_writes", "Writes saved and published", ["graph"], registry=r)
        self.rejected = Counter("kglink_rejected", "Requests refused with 429", registry=r)

    def on_batch(self, jobs: int, tokens: int) -> None:
        self.batch_size.observe(jobs)
        self.tokens.inc(tokens)

    def render(self) -> bytes:
        return generate_latest(self.registry)
