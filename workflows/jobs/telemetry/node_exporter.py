"""A node's own figures over HTTP for Prometheus: JOBS_METRICS_PORT (unset: off) at
JOBS_METRICS_HOST (default 127.0.0.1), path /metrics.

Started by the node's main process before its pool forks: it switches prometheus-client to
multiprocess mode on a directory of this node's, so every worker process writes its attempts'
figures there, and each scrape adds them up (MultiProcessCollector) with the node's live
gauges read from its shared runtime: jobs_node_workers and jobs_node_busy_workers. The
directory is removed when the node's process exits.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from workflows.jobs.telemetry import metrics


def configured_port() -> int | None:
    port = getattr(settings, "JOBS_METRICS_PORT", None)
    return int(port) if port not in (None, "") else None


def configured_host() -> str:
    return getattr(settings, "JOBS_METRICS_HOST", None) or "127.0.0.1"


class NodeCollector:
    """The node's worker pool as gauges, read at scrape time from the shared runtime."""

    def __init__(self, runtime: Any):
        self.runtime = runtime

    def collect(self):
        workers = GaugeMetricFamily("jobs_node_workers", "Worker processes of this node.")
        workers.add_metric([], self.runtime.concurrency)
        busy = GaugeMetricFamily(
            "jobs_node_busy_workers", "Worker processes of this node running an attempt now."
        )
        busy.add_metric([], len(self.runtime.registry.snapshot()))
        return [workers, busy]


@dataclass
class NodeExporter:
    host: str
    port: int
    directory: str
    server: Any

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.server.server_port}/metrics"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        shutil.rmtree(self.directory, ignore_errors=True)


def start(runtime: Any) -> NodeExporter | None:
    """Serve this node's figures if JOBS_METRICS_PORT is set; call before the pool forks."""
    port = configured_port()
    if port is None:
        return None
    directory = tempfile.mkdtemp(prefix="jobs-metrics-")
    metrics.enable_multiprocess(directory)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)
    registry.register(NodeCollector(runtime))
    host = configured_host()
    server, _thread = start_http_server(port, addr=host, registry=registry)
    exporter = NodeExporter(host=host, port=port, directory=directory, server=server)
    atexit.register(shutil.rmtree, directory, True)
    return exporter
