"""Request counts and latency per route, in the Prometheus text format.

``Metrics`` is a plain thread-safe accumulator; ``MetricsMiddleware`` times every HTTP request
and labels it with its route template (``/v1/memories/{memory_id}``, never the raw path, so the
number of series stays small). Unmatched paths share the label ``unmatched``.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Histogram bucket upper bounds, in seconds.
BUCKETS: tuple[float, ...] = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


@dataclass
class _Series:
    count: int = 0
    total: float = 0.0
    buckets: list[int] = field(default_factory=lambda: [0] * len(BUCKETS))


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self._latency: dict[tuple[str, str], _Series] = defaultdict(_Series)
        self.started = time.time()

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self._requests[(method, route, status)] += 1
            series = self._latency[(method, route)]
            series.count += 1
            series.total += seconds
            index = bisect.bisect_left(BUCKETS, seconds)
            if index < len(BUCKETS):
                series.buckets[index] += 1

    def render(self) -> str:
        """The Prometheus text exposition (version 0.0.4)."""
        with self._lock:
            requests = sorted(self._requests.items())
            latency = sorted(
                (key, _Series(s.count, s.total, list(s.buckets)))
                for key, s in self._latency.items()
            )
        lines = [
            "# HELP memstrata_http_requests_total HTTP requests by method, route and status.",
            "# TYPE memstrata_http_requests_total counter",
        ]
        for (method, route, status), count in requests:
            lines.append(
                f'memstrata_http_requests_total{{method="{method}",route="{_label(route)}",'
                f'status="{status}"}} {count}'
            )
        lines += [
            "# HELP memstrata_http_request_duration_seconds HTTP request latency by route.",
            "# TYPE memstrata_http_request_duration_seconds histogram",
        ]
        for (method, route), series in latency:
            labels = f'method="{method}",route="{_label(route)}"'
            cumulative = 0
            for bound, hits in zip(BUCKETS, series.buckets, strict=True):
                cumulative += hits
                lines.append(
                    f'memstrata_http_request_duration_seconds_bucket{{{labels},le="{bound}"}} '
                    f"{cumulative}"
                )
            lines.append(
                f'memstrata_http_request_duration_seconds_bucket{{{labels},le="+Inf"}} '
                f"{series.count}"
            )
            lines.append(f"memstrata_http_request_duration_seconds_sum{{{labels}}} {series.total}")
            lines.append(
                f"memstrata_http_request_duration_seconds_count{{{labels}}} {series.count}"
            )
        lines += [
            "# HELP memstrata_process_start_time_seconds When the server started (Unix time).",
            "# TYPE memstrata_process_start_time_seconds gauge",
            f"memstrata_process_start_time_seconds {self.started}",
        ]
        return "\n".join(lines) + "\n"


class MetricsMiddleware:
    """ASGI middleware that records each HTTP request in ``metrics``."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.observe(scope["method"], template, status, time.perf_counter() - start)
