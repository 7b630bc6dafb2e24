"""Built models: built once per source and version, never seen half-built, one build at a time."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from providers.embeddings.model_cache import cached_build

NAME = "tiny-model"


class Builder:
    """A build that writes one file, counts its runs and notes what the cache folder shows meanwhile."""

    def __init__(self) -> None:
        self.runs = 0
        self.visible_meanwhile: list[str] = []

    def __call__(self, folder: Path) -> None:
        self.runs += 1
        self.visible_meanwhile = [path.name for path in folder.parent.iterdir() if path.name[0] != "."]
        (folder / "model.onnx").write_text(f"build {self.runs}")


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "weights.bin"
    path.write_bytes(b"shipped weights")
    return path


def test_a_model_is_built_once_out_of_sight_and_then_found(tmp_path: Path, source: Path):
    cache, build = tmp_path / "models" / "nested", Builder()
    folder = cached_build(cache, NAME, source, 1, build)
    assert build.visible_meanwhile == []  # the work folder is hidden until complete
    assert cached_build(cache, NAME, source, 1, build) == folder
    assert build.runs == 1 and (folder / "model.onnx").read_text() == "build 1"
    assert folder.parent == cache and folder.name.startswith(f"{NAME}-") and folder.name.endswith("-v1")
    # Readable by whoever serves, not only by the builder (an image builds as root).
    assert folder.stat().st_mode & 0o777 == 0o755


@pytest.mark.parametrize("change", ["source", "version"])
def test_a_changed_source_or_builder_version_builds_afresh(tmp_path: Path, source: Path, change: str):
    build = Builder()
    first = cached_build(tmp_path / "models", NAME, source, 1, build)
    if change == "source":
        source.write_bytes(b"upgraded weights")
    second = cached_build(tmp_path / "models", NAME, source, 2 if change == "version" else 1, build)
    assert second != first and build.runs == 2
    assert (second / "model.onnx").read_text() == "build 2"


@pytest.mark.parametrize("failure", [RuntimeError("out of disk"), KeyboardInterrupt()])
def test_a_failed_build_leaves_nothing_behind_and_the_next_attempt_builds(
    tmp_path: Path, source: Path, failure: BaseException
):
    cache = tmp_path / "models"

    def broken(folder: Path) -> None:
        (folder / "half.onnx").write_text("half")
        raise failure

    with pytest.raises(type(failure)):
        cached_build(cache, NAME, source, 1, broken)
    assert [path.name for path in cache.iterdir()] == [f".{NAME}.lock"]
    folder = cached_build(cache, NAME, source, 1, Builder())
    assert [path.name for path in folder.iterdir()] == ["model.onnx"]


def test_a_second_builder_waits_for_the_first_and_does_not_build_again(tmp_path: Path, source: Path):
    started, release = threading.Event(), threading.Event()
    runs: list[str] = []
    results: dict[str, Path] = {}

    def slow(folder: Path) -> None:
        runs.append(threading.current_thread().name)
        started.set()
        release.wait(10)
        (folder / "model.onnx").write_text("built")

    def builder(name: str) -> threading.Thread:
        def run() -> None:
            results[name] = cached_build(tmp_path / "models", NAME, source, 1, slow)

        thread = threading.Thread(target=run, name=name)
        thread.start()
        return thread

    first = builder("first")
    assert started.wait(5)
    second = builder("second")
    second.join(timeout=0.3)
    assert second.is_alive()  # held on the file lock while the first build runs
    release.set()
    first.join(timeout=5)
    second.join(timeout=5)
    assert runs == ["first"] and results["first"] == results["second"]
