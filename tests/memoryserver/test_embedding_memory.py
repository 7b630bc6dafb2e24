"""The local model's memory stays bounded whatever the shapes of the batches it is given."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from providers.embeddings.local import MAX_BATCH_TOKENS, token_bounded_runs
from tests.reliability.processes import ROOT


def test_runs_are_shortest_first_and_within_the_token_budget() -> None:
    lengths = [256, 10, 256, 40, 12, 256, 255, 11]
    runs = token_bounded_runs(lengths, 520)
    assert sorted(i for run in runs for i in run) == list(range(len(lengths)))
    for run in runs:
        assert len(run) * max(lengths[i] for i in run) <= 520
    flat = [lengths[i] for run in runs for i in run]
    assert flat == sorted(flat)


def test_a_text_longer_than_the_budget_still_gets_a_run() -> None:
    assert token_bounded_runs([300, 5], 100) == [[1], [0]]
    assert token_bounded_runs([], 100) == []


# In a fresh process, so that neither the arena nor the RSS of other tests counts.
PEAK_SCRIPT = textwrap.dedent(
    """
    import random
    from pathlib import Path
    from providers.embeddings.local import LocalOnnxEmbedder

    rng = random.Random(3)
    words = "river mountain answer picture morning question science weather".split()
    embedder = LocalOnnxEmbedder()
    for count in (250, 120, 60, 250, 30, 200, 90):  # one word is one token here
        embedder.embed_many([" ".join(rng.choices(words, k=count)) for _ in range(64)])
    status = Path("/proc/self/status").read_text().splitlines()
    print(next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) // 1024)
    """
)
# Measured: about 1,000 MiB with runs capped at MAX_BATCH_TOKENS, 2,750 MiB with whole
# batches of 64 texts of up to 256 tokens.
PEAK_LIMIT_MIB = 1500


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_peak_memory_of_long_batches_of_many_shapes_is_bounded() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PEAK_SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=110, check=True
    )
    peak_mib = int(done.stdout.strip())
    assert peak_mib < PEAK_LIMIT_MIB, f"peak RSS {peak_mib} MiB with runs of {MAX_BATCH_TOKENS} tokens"
