"""Configuration: environment and .env, validated with messages that name the value and the rule."""

from __future__ import annotations

import pytest

from memoryserver.config import ConfigError, load_config


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No configuration from the developer's environment or .env file leaks in."""
    for name in [
        "WINDOW_SIZE",
        "PORT",
        "REDIS_URL",
        "ENVIRONMENT",
        "SECRET_KEY",
        "ALLOWED_HOSTS",
        "LOG_LEVEL",
    ]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MEMORY_SERVER_ENV_FILE", str(tmp_path / "missing.env"))
    return monkeypatch


def reload_config():
    # env_file is resolved when the class is built, so build it afresh.
    import importlib

    import memoryserver.config as module

    return importlib.reload(module).load_config()


def test_defaults_are_the_seeds(clean_env):
    config = load_config()
    assert (config.port, config.mcp_port, config.window_size, config.disable_auth) == (8000, 9000, 20, False)
    assert config.environment == "development"


def test_environment_values_are_typed(clean_env):
    clean_env.setenv("WINDOW_SIZE", "12")
    clean_env.setenv("DISABLE_AUTH", "true")
    clean_env.setenv("LOG_LEVEL", "debug")
    clean_env.setenv("ALLOWED_HOSTS", "a.example, b.example")
    config = load_config()
    assert config.window_size == 12 and config.disable_auth is True and config.log_level == "DEBUG"
    assert config.allowed_hosts == ["a.example", "b.example"]


def test_bad_values_are_named_with_the_rule(clean_env):
    clean_env.setenv("WINDOW_SIZE", "ten")
    clean_env.setenv("PORT", "70000")
    clean_env.setenv("REDIS_URL", "http://user:hunter2@host:6379")
    with pytest.raises(ConfigError) as caught:
        load_config()
    message = str(caught.value)
    assert "Config 'WINDOW_SIZE' has value 'ten'. Input should be a valid integer" in message
    assert "Config 'PORT' has value '70000'. Input should be less than or equal to 65535." in message
    assert "Config 'REDIS_URL'" in message and "must start with redis://" in message
    assert "hunter2" not in message


def test_secret_values_never_appear_in_errors(clean_env):
    clean_env.setenv("OPENAI_API_KEY", "")
    clean_env.setenv("ENVIRONMENT", "staging")
    with pytest.raises(ConfigError) as caught:
        load_config()
    assert "Config 'ENVIRONMENT' has value 'staging'" in str(caught.value)


def test_production_requires_a_secret_key_and_hosts(clean_env):
    clean_env.setenv("ENVIRONMENT", "production")
    with pytest.raises(ConfigError, match="SECRET_KEY is required when ENVIRONMENT=production"):
        load_config()
    clean_env.setenv("SECRET_KEY", "s" * 50)
    with pytest.raises(ConfigError, match="ALLOWED_HOSTS must list host names"):
        load_config()
    clean_env.setenv("ALLOWED_HOSTS", "memory.example.com")
    assert load_config().secret_key.get_secret_value() == "s" * 50


def test_dotenv_file_is_read(clean_env, tmp_path):
    env_file = tmp_path / "test.env"
    env_file.write_text("WINDOW_SIZE=33\nGENERATION_MODEL=claude-3-5-haiku\n")
    clean_env.setenv("MEMORY_SERVER_ENV_FILE", str(env_file))
    config = reload_config()
    assert config.window_size == 33 and config.generation_model == "claude-3-5-haiku"


def test_manage_py_reports_bad_config_cleanly(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "WINDOW_SIZE": "ten", "MEMORY_SERVER_ENV_FILE": str(tmp_path / "none.env")}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "Invalid configuration:\nConfig 'WINDOW_SIZE' has value 'ten'." in result.stderr
    assert "Traceback" not in result.stderr
