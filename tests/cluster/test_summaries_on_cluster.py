"""tests/sessions_app/test_summaries.py, with working memory on the cluster."""

from tests.sessions_app.test_summaries import *  # noqa: F403
