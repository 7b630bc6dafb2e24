"""Agent Memory Server: settings, auth, Redis clients, model providers and the task queue."""

__version__ = "0.1.0"
