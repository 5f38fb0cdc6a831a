"""What operators see of the engine running: the attempt's telemetry (signals, metrics, log
lines, Sentry), the node's and the web app's Prometheus endpoints. docs/observability.md."""
