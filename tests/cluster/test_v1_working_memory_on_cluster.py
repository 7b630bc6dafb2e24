"""tests/v1_api/test_working_memory.py, with working memory on the cluster."""

from tests.v1_api.test_working_memory import *  # noqa: F403
