"""Settings of bench/telemetry_overhead.py's "on" runs: the project's settings with the node's
Prometheus endpoint on (an ephemeral port: multiprocess metrics files in every worker) and
receivers connected to job_started and job_finished (bench.telemetry_receivers)."""

from healthcare_cms.settings import *  # noqa: F403
from healthcare_cms.settings import JOBS

JOBS_METRICS_PORT = 0  # any free port: the figures are written whether scraped or not
JOBS = {**JOBS, "worker_modules": [*JOBS["worker_modules"], "bench.telemetry_receivers"]}
