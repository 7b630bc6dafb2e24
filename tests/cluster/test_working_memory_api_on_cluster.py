"""tests/sessions_app/test_working_memory_api.py, with working memory on the cluster."""

from tests.sessions_app.test_working_memory_api import *  # noqa: F403
