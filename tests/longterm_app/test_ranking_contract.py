"""The ranking contract, with the real local model on a small hand-written conversation: for
questions that need names, dates or paraphrase, the right memory comes first (default mode)."""

from __future__ import annotations

import pytest

SESSIONS = {
    "s1": [
        "Maria: I finally adopted a dog from the shelter, a beagle called Pepper.",
        "Tom: That's lovely! How is Pepper settling in?",
        "Maria: She chews everything, but she loves the park by the river.",
        "Tom: My sister Ana just started her new job as a nurse in Lisbon.",
        "Maria: Good for her. I am taking a pottery class on Thursday evenings now.",
        "Tom: I have been training for the Berlin marathon in September.",
    ],
    "s2": [
        "Tom: The marathon went well, I finished in three hours and forty minutes.",
        "Maria: Congratulations! I sold my first vase at the craft fair.",
        "Tom: Ana says the hospital in Lisbon is exhausting but she likes her colleagues.",
        "Maria: Pepper got sick last week, we spent a night at the vet.",
        "Tom: Is she better now?",
        "Maria: Yes, it was something she ate. I am also learning Portuguese for a trip to Porto.",
    ],
}
QUESTIONS = [
    ("What kind of dog did Maria adopt?", "s1-0"),
    ("Where does Tom's sister work?", "s1-3"),
    ("Which hobby does Maria do on Thursday evenings?", "s1-4"),
    ("When is Tom's marathon in Berlin?", "s1-5"),
    ("Who is working as a nurse?", "s1-3"),
]
# Paraphrases this ranking still misses on a conversation this small: the session-context
# boost lifts the other session's turns, and a lone match of the speaker's name outweighs a
# better semantic match. Strict: the day they pass, move them up.
KNOWN_GAPS = [
    ("How long did Tom take to run the marathon?", "s2-0"),
    ("Why did Maria go to the veterinarian?", "s2-3"),
    ("What language is Maria studying?", "s2-5"),
]


@pytest.fixture
def conversation(api):
    memories = [
        {"id": f"{session}-{turn}", "text": text, "session_id": session, "namespace": "chat"}
        for session, texts in SESSIONS.items()
        for turn, text in enumerate(texts)
    ]
    response = api.post("/long-term-memory", json={"memories": memories})
    assert response.status_code == 200, response.text


def first(api, question: str) -> list[tuple[str, float]]:
    body = {"text": question, "namespace": {"eq": "chat"}, "limit": 3}
    hits = api.post("/long-term-memory/search", json=body).json()["memories"]
    return [(hit["id"], round(hit["score"], 3)) for hit in hits]


@pytest.mark.parametrize(("question", "answer"), QUESTIONS)
def test_the_right_memory_comes_first(api, conversation, question, answer):
    hits = first(api, question)
    assert hits[0][0] == answer, hits


@pytest.mark.xfail(strict=True, reason="known gap on small conversations (see KNOWN_GAPS)")
@pytest.mark.parametrize(("question", "answer"), KNOWN_GAPS)
def test_known_gaps(api, conversation, question, answer):
    hits = first(api, question)
    assert hits[0][0] == answer, hits


def test_turns_keep_their_place_in_the_session(api, conversation):
    stored = api.get("/long-term-memory/s2-3", params={"namespace": "chat"}).json()
    assert stored["session_seq"] == 4
    again = {"id": "s2-3", "text": "Maria: Pepper got sick, a night at the vet.", "session_id": "s2"}
    api.post("/long-term-memory", json={"memories": [{**again, "namespace": "chat"}]})
    assert api.get("/long-term-memory/s2-3", params={"namespace": "chat"}).json()["session_seq"] == 4
