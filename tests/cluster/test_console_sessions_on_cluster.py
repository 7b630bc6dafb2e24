"""tests/console/test_sessions.py, with working memory on the cluster."""

from tests.console.conftest import *  # noqa: F403
from tests.console.test_sessions import *  # noqa: F403
