"""Benchmark: latency of replacing and reading a 20-message working memory over HTTP.

Talks to a running server; it is not a test. Start the server, then run the benchmark:

    scripts/serve                              # in one terminal (PORT=8000 by default)
    .venv/bin/python bench/working_memory.py   # in another

Options: --url (default http://127.0.0.1:8000), --token (sent as a bearer token),
--iterations (measured requests of each kind, default 2000), --warmup (default 200).

Requests run one after another over a single keep-alive connection: warm-up PUTs and GETs
first, then the measured PUTs (`PUT /sessions/{id}/memory`), then the measured GETs
(`GET /sessions/{id}/memory`), each timed with time.perf_counter. The session lives in the
namespace "bench" under a fresh id and is deleted at the end. The script prints exactly one
JSON line of figures (milliseconds) and exits with status 1 when any request failed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from collections.abc import Callable

import httpx
from bench_stats import summarise

NAMESPACE = "bench"

CONVERSATION = (
    "Hi, I'm planning a four-day trip to Lisbon in early October with my partner. We like food, "
    "walking and a bit of history, but we don't want to spend every day in museums. Could you help "
    "me sketch a rough plan?",
    "Of course. Early October is a good time: warm days, fewer crowds than summer. A simple shape "
    "would be one neighbourhood per day: Alfama and the castle, Baixa and Chiado, Belém, and a day "
    "trip to Sintra. Do you prefer relaxed mornings or early starts?",
    "Relaxed mornings, definitely. We usually get going around ten. Also, my partner is vegetarian, "
    "so restaurant tips need to take that into account. I eat everything, fish especially.",
    "Noted: late starts and vegetarian-friendly food. Lisbon has improved a lot for vegetarians. "
    "Many tascas now have at least one meat-free dish, and there are good dedicated places in "
    "Chiado and Príncipe Real. For you, grilled sardines or bacalhau are a must.",
    "Great. For the Sintra day, is it worth hiring a car, or is the train fine? I've read the roads "
    "up to the palaces are narrow and parking is a nightmare.",
    "Take the train from Rossio: it runs about every twenty minutes and takes forty minutes. In "
    "Sintra, use the 434 bus or walk between Pena Palace and the Moorish Castle. A car would mostly "
    "be a source of stress there, especially on weekends.",
    "Perfect, train it is. How much time should we budget for Pena Palace and Quinta da Regaleira? "
    "We'd like to be back in Lisbon for dinner.",
    "Plan about two and a half hours for Pena, including the park, and two hours for Regaleira. "
    "Book Pena tickets online for a morning slot, even with your relaxed start: an eleven o'clock "
    "entry still gets you back to Lisbon by seven.",
    "What about Belém? Everyone mentions the pastries. Is the famous bakery worth the queue, or is "
    "that a tourist trap at this point?",
    "The queue moves faster than it looks, because most people wait for takeaway. Go inside and sit "
    "down instead: there is usually table space. Pair it with the Jerónimos Monastery cloister and "
    "a walk along the river to the tower.",
    "Sounds lovely. Can you suggest a couple of vegetarian-friendly dinner spots near Alfama for the "
    "first evening? Nothing too formal, we'll be tired from travelling.",
    "For a casual first evening, look for small places around Largo do Chafariz de Dentro: several "
    "serve petiscos, which are shareable plates, with vegetable options like peppers, mushrooms and "
    "cheese. You could finish with fado in one of the small houses nearby.",
    "Fado sounds like something we'd enjoy. Do we need to book, and is it usually a dinner-and-show "
    "thing or can we just go for a drink?",
    "Both exist. The bigger houses sell dinner-and-show packages and should be booked. Smaller "
    "tascas host informal fado vadio nights where you order a drink and listen. On a weekday, "
    "arriving around nine usually works without a reservation.",
    "Okay. One more practical thing: what's the best way to get around the city? We're fine with "
    "hills, but I've heard the trams are always packed.",
    "Get a rechargeable Viva Viagem card and use the metro for longer hops. Tram 28 is scenic but "
    "crowded; ride it early or take tram 24 or 12 instead. Walking is easiest for Chiado and Baixa, "
    "and the elevators help with the steepest climbs.",
    "That's really helpful. Could you put the four days together in order, considering that we "
    "arrive on a Thursday afternoon and fly out Monday evening?",
    "Thursday: Alfama stroll, petiscos and fado. Friday: castle in the morning, Baixa and Chiado in "
    "the afternoon. Saturday: Sintra by train, back for dinner. Sunday: Belém, pastries and the "
    "river. Monday: a slow morning in Príncipe Real before the airport.",
    "Love it. Please remember that my partner is vegetarian and that we prefer late mornings; I'll "
    "probably ask you about restaurants again closer to the date.",
    "I'll keep both in mind: vegetarian-friendly dining and starts around ten. When you're ready, "
    "tell me your hotel's neighbourhood and I'll suggest restaurants within walking distance, plus "
    "a rainy-day alternative for each day of the plan.",
)
ROLES = ("user", "assistant")


def session_body() -> dict[str, object]:
    """The 20-message working memory that every PUT sends."""
    messages = [{"role": ROLES[i % 2], "content": text} for i, text in enumerate(CONVERSATION)]
    return {"messages": messages}


def round_trips(get: Callable[[], httpx.Response]) -> bool:
    """Whether a GET returns the conversation that was PUT, in order."""
    try:
        response = get()
        messages = response.json().get("messages", []) if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return False
    return messages is not None and [(m.get("role"), m.get("content")) for m in messages] == [
        (ROLES[i % 2], text) for i, text in enumerate(CONVERSATION)
    ]


class Runner:
    """Sends requests one at a time, timing them and counting every failed or non-200 answer."""

    def __init__(self) -> None:
        self.errors = 0

    def timed(self, send: Callable[[], httpx.Response]) -> float | None:
        start = time.perf_counter()
        try:
            response = send()
        except httpx.HTTPError:
            self.errors += 1
            return None
        elapsed_ms = (time.perf_counter() - start) * 1000
        if response.status_code != 200:
            self.errors += 1
        return elapsed_ms

    def measure(self, send: Callable[[], httpx.Response], count: int) -> list[float]:
        timings = (self.timed(send) for _ in range(count))
        return [elapsed for elapsed in timings if elapsed is not None]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="Base URL of the running server.")
    parser.add_argument("--token", default=None, help="Bearer token, when the server requires one.")
    parser.add_argument("--iterations", type=int, default=2000, help="Measured PUTs and GETs (each).")
    parser.add_argument("--warmup", type=int, default=200, help="Unmeasured PUTs and GETs first (each).")
    args = parser.parse_args()
    if args.iterations < 1 or args.warmup < 0:
        parser.error("--iterations must be at least 1 and --warmup at least 0")
    return args


def main() -> int:
    args = parse_args()
    headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
    path = f"/sessions/bench-{uuid.uuid4().hex}/memory"
    params = {"namespace": NAMESPACE}
    body = json.dumps(session_body()).encode()
    put_headers = {**headers, "Content-Type": "application/json"}

    with httpx.Client(base_url=args.url.rstrip("/"), headers=headers, timeout=30.0) as client:
        runner = Runner()

        def put() -> httpx.Response:
            return client.put(path, params=params, content=body, headers=put_headers)

        def get() -> httpx.Response:
            return client.get(path, params=params)

        try:
            for _ in range(args.warmup):
                runner.timed(put)
                runner.timed(get)
            put_ms = runner.measure(put, args.iterations)
            get_ms = runner.measure(get, args.iterations)
            if not round_trips(get):
                runner.errors += 1
        finally:
            try:
                if client.delete(path, params=params).status_code != 200:
                    runner.errors += 1
            except httpx.HTTPError:
                runner.errors += 1

    result = {
        "bench": "working_memory",
        "messages": len(CONVERSATION),
        "iterations": args.iterations,
        "put_ms": summarise(put_ms),
        "get_ms": summarise(get_ms),
        "errors": runner.errors,
        "url": args.url,
    }
    sys.stdout.write(json.dumps(result) + "\n")
    return 1 if runner.errors else 0


if __name__ == "__main__":
    sys.exit(main())
