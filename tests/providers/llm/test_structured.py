"""Structured output without a model: what a reply may look like, what is refused and how it is
sent back for the one corrective retry."""

from __future__ import annotations

import json
import re

import pytest
from pydantic import BaseModel

from providers.llm.structured import StructuredOutputError, corrective_prompt, parse_structured, tool_spec


class Answer(BaseModel):
    """The answer to the user's question."""

    answer: str
    confidence: float = 1.0


def problem_with(text: str) -> str:
    with pytest.raises(StructuredOutputError) as caught:
        parse_structured(text, Answer)
    return str(caught.value)


@pytest.mark.parametrize("text", ["   \n\t", '<think>maybe {"answer": "x"}</think>  ', "```json\n```"])
def test_a_reply_with_nothing_but_whitespace_thinking_or_an_empty_fence_is_empty(text: str):
    assert problem_with(text) == "the reply is empty"


@pytest.mark.parametrize("text", ['[{"answer": "x"}]', "null", '"x"'])
def test_json_that_is_not_an_object_is_refused_at_the_top_level(text: str):
    assert problem_with(text) == (
        "the reply does not match Answer: (top level): "
        "Input should be a valid dictionary or instance of Answer"
    )


def test_prose_around_two_objects_is_refused_rather_than_guessed():
    problem = problem_with('First {"answer": "a"}, or else {"answer": "b"}')
    assert problem.startswith("the reply is not JSON (Extra data at line 1 column")


def test_a_validation_problem_names_the_field_but_never_echoes_the_value():
    problem = problem_with('{"answer": "ok", "confidence": "sk-live-do-not-log"}')
    assert problem.startswith("the reply does not match Answer: confidence: Input should be a valid number")
    assert "sk-live-do-not-log" not in problem


def test_the_correction_names_the_problem_and_carries_the_schema():
    problem = StructuredOutputError("the reply is empty")
    quoted, correction = corrective_prompt("  I think the answer is yes.  ", problem, Answer)
    assert quoted == "I think the answer is yes."
    assert correction.startswith("That answer could not be used: the reply is empty. Answer again with only")
    schema = correction.split("no other text:\n", 1)[1]
    assert json.loads(schema) == Answer.model_json_schema()


def test_a_long_bad_output_is_quoted_only_in_part():
    long_output = "x" * 10_000
    quoted, _ = corrective_prompt(long_output, StructuredOutputError("the reply is not JSON"), Answer)
    assert 0 < len(quoted) < len(long_output) and long_output.startswith(quoted)


def test_a_tool_name_is_cut_to_the_64_characters_the_apis_allow():
    long_model = type("A" * 70 + ".Answer", (BaseModel,), {"__annotations__": {"text": str}})
    name = tool_spec(long_model).name
    assert len(name) == 64 and re.fullmatch(r"[A-Za-z0-9_-]+", name)
