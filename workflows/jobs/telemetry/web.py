"""The web app's /metrics: the cluster's state read from the database, for Prometheus.

Off (404) unless settings.METRICS_TOKEN is set; then a scrape must send
`Authorization: Bearer <token>` (401 otherwise). Each scrape is one short, index-backed read
(workflows.jobs.store.cluster_state). The figures each node serves of its own attempts are on
the node's port (node_exporter.py), not here.
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily

from workflows.jobs.conf import jobs_settings
from workflows.jobs.node.cron import crontab
from workflows.jobs.store import cluster_state

STATES = ("available", "scheduled", "executing", "retryable", "discarded")


class ClusterCollector:
    def collect(self):
        conf = jobs_settings()
        state = cluster_state.read(
            node_dead_after_seconds=conf.node_dead_after_seconds,
            cron_workers=sorted({entry.worker for entry in crontab()}),
        )
        jobs = GaugeMetricFamily(
            "jobs_queue_jobs", "Jobs of the queue by state (finished ones not counted).",
            labels=["queue", "state"],
        )  # fmt: skip
        limit = GaugeMetricFamily(
            "jobs_queue_limit", "Jobs of the queue that may run at once.", labels=["queue"]
        )
        paused = GaugeMetricFamily("jobs_queue_paused", "1 if paused.", labels=["queue"])
        oldest = GaugeMetricFamily(
            "jobs_queue_oldest_available_seconds",
            "Age of the queue's oldest available job (0: none waiting).",
            labels=["queue"],
        )
        dead = GaugeMetricFamily(
            "jobs_dead_letters", "Discarded jobs of the queue not yet pruned.", labels=["queue"]
        )
        for queue in state.queues:
            for name in STATES:
                if name != "discarded":
                    jobs.add_metric([queue.name, name], queue.jobs.get(name, 0))
            limit.add_metric([queue.name], queue.limit)
            paused.add_metric([queue.name], 1 if queue.paused else 0)
            oldest.add_metric([queue.name], queue.oldest_available_seconds)
            dead.add_metric([queue.name], queue.jobs.get("discarded", 0))
        alive = GaugeMetricFamily("jobs_nodes_alive", "Nodes whose heartbeat is recent.")
        alive.add_metric([], state.nodes_alive)
        cron = GaugeMetricFamily(
            "jobs_cron_last_slot_timestamp_seconds",
            "The newest cron slot inserted for the worker (Unix time).",
            labels=["worker"],
        )
        for worker, slot in sorted(state.cron_last_slots.items()):
            if slot is not None:
                cron.add_metric([worker], slot)
        return [jobs, limit, paused, oldest, dead, alive, cron]


def _authorized(request: HttpRequest, token: str) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), token.encode())


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    token = getattr(settings, "METRICS_TOKEN", "") or ""
    if not token:
        raise Http404("metrics are off")
    if not _authorized(request, token):
        response = HttpResponse("a valid bearer token is required\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ClusterCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
