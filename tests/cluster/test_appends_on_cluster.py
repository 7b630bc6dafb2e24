"""tests/sessions_app/test_appends.py, with working memory on the cluster."""

from tests.sessions_app.test_appends import *  # noqa: F403
