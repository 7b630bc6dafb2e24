"""tests/sessions_app/test_key_layout.py, with working memory on the cluster."""

from tests.sessions_app.test_key_layout import *  # noqa: F403
