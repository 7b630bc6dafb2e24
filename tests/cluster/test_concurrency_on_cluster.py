"""tests/sessions_app/test_concurrency.py, with working memory on the cluster."""

from tests.sessions_app.test_concurrency import *  # noqa: F403
