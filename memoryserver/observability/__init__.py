"""Observability: request ids and JSON logs, Prometheus metrics, optional OpenTelemetry tracing."""
