"""What-if settings for bench/throughput.py --engine-settings bench.whatif_settings: the project's
settings with Django's per-request connection health check turned off, to measure what the
SELECT 1 that django-q2's per-task close_old_connections() triggers before every outcome write
costs. A measurement aid only; not a recommendation to deploy as is."""

from healthcare_cms.settings import *  # noqa: F403
from healthcare_cms.settings import DATABASES

DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
