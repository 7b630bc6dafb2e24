"""memoryserver.config beyond tests/memoryserver/test_config.py: the auth and OIDC combinations
refused at start-up, list and URL settings, and the bounds of numeric settings."""

from __future__ import annotations

import pytest

from memoryserver import config


@pytest.fixture
def env(monkeypatch, tmp_path):
    """An environment with no setting in it and no .env file."""
    for name in config.AppConfig.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("MEMORY_SERVER_ENV_FILE", str(tmp_path / "missing.env"))
    return monkeypatch


def configured(env, **values: str) -> config.AppConfig:
    for name, value in values.items():
        env.setenv(name, value)
    # Through the module: tests/memoryserver/test_config.py reloads it, which makes new classes.
    return config.load_config()


def refused(env, **values: str) -> list[str]:
    """The lines of the ConfigError these settings cause."""
    with pytest.raises(config.ConfigError) as error:
        configured(env, **values)
    return str(error.value).splitlines()


def test_oauth2_mode_without_an_issuer_is_refused_naming_both_settings(env):
    assert refused(env, AUTH_MODE="oauth2") == ["Config: AUTH_MODE=oauth2 needs OAUTH2_ISSUER_URL."]


@pytest.mark.parametrize(
    ("values", "mode"),
    [
        ({}, "token"),
        ({"OAUTH2_ISSUER_URL": "https://issuer.example"}, "oauth2"),
        ({"OAUTH2_ISSUER_URL": "https://issuer.example", "AUTH_MODE": "token"}, "token"),
        ({"OAUTH2_ISSUER_URL": "https://issuer.example", "DISABLE_AUTH": "true"}, "disabled"),
    ],
)
def test_the_auth_mode_follows_disable_auth_then_auth_mode_then_the_issuer(env, values, mode):
    assert configured(env, **values).effective_auth_mode == mode


def test_an_oidc_client_id_alone_is_refused_naming_every_setting_it_needs(env):
    (line,) = refused(env, OIDC_RP_CLIENT_ID="console")
    for needed in (
        "CLIENT_SECRET",
        "AUTHORIZATION_ENDPOINT",
        "TOKEN_ENDPOINT",
        "USER_ENDPOINT",
        "JWKS_ENDPOINT",
    ):
        assert f"OIDC_{'RP' if needed == 'CLIENT_SECRET' else 'OP'}_{needed}" in line


@pytest.mark.parametrize("algorithms", ['["HS256"]', '["RS256", "none"]', "[]"])
def test_only_asymmetric_token_algorithms_are_accepted(env, algorithms):
    (line,) = refused(env, OAUTH2_ALGORITHMS=algorithms)
    assert line.startswith("Config 'OAUTH2_ALGORITHMS' has value [")
    assert "only asymmetric algorithms are accepted (ES256, ES384" in line
    assert configured(env, OAUTH2_ALGORITHMS='["ES256", "EdDSA"]').oauth2_algorithms == ["ES256", "EdDSA"]


def test_an_empty_redis_url_counts_as_unset_and_a_unix_socket_is_a_redis_url(env):
    config = configured(env, REDIS_URL="", QUEUE_REDIS_URL="unix:///run/redis.sock?db=2")
    assert (config.redis_url, config.queue_redis_url) == (None, "unix:///run/redis.sock?db=2")


def test_each_role_url_is_checked_on_its_own_with_its_credentials_masked(env):
    lines = refused(
        env, QUEUE_REDIS_URL="http://q:pw1@queue:6379", LONG_TERM_MEMORY_REDIS_URL="tcp://l:pw2@lt"
    )
    assert [line.split("'")[1] for line in lines] == ["LONG_TERM_MEMORY_REDIS_URL", "QUEUE_REDIS_URL"]
    assert "'http://***@queue:6379'" in lines[1] and not any("pw" in line for line in lines)


@pytest.mark.parametrize(
    ("name", "value", "rule"),
    [
        ("SUMMARIZATION_THRESHOLD", "0", "greater than 0"),
        ("SUMMARIZATION_THRESHOLD", "1.5", "less than or equal to 1"),
        ("MAX_REQUEST_BODY_BYTES", "1023", "greater than or equal to 1024"),
        ("REQUEST_BODY_TIMEOUT_SECONDS", "3601", "less than or equal to 3600"),
        ("WORKER_NICENESS", "20", "less than or equal to 19"),
        ("COMPACTION_DISTANCE_THRESHOLD", "0", "greater than 0"),
        ("LOG_FORMAT", "xml", "'text' or 'json'"),
    ],
)
def test_a_value_outside_its_bounds_is_refused_naming_the_setting_the_value_and_the_rule(
    env, name, value, rule
):
    assert refused(env, **{name: value}) == [f"Config '{name}' has value '{value}'. Input should be {rule}."]


def test_production_refuses_an_empty_secret_key(env):
    """An empty key would leave each process its own random one, so sessions break across them."""
    (line,) = refused(env, ENVIRONMENT="production", SECRET_KEY="  ", ALLOWED_HOSTS="memory.example.com")
    assert "SECRET_KEY is required when ENVIRONMENT=production" in line


def test_production_refuses_a_wildcard_among_its_hosts(env):
    (line,) = refused(env, ENVIRONMENT="production", SECRET_KEY="x", ALLOWED_HOSTS="*,memory.example.com")
    assert "ALLOWED_HOSTS must list host names when ENVIRONMENT=production" in line
