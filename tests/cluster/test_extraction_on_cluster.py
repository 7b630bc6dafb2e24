"""tests/sessions_app/test_extraction.py, with working memory on the cluster."""

from tests.sessions_app.test_extraction import *  # noqa: F403
