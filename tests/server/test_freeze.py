"""server.warm_up.freeze_long_lived_objects: what start-up built is left out of later full
garbage collections, while garbage made afterwards is still collected."""

from __future__ import annotations

import gc
import weakref

from server.warm_up import freeze_long_lived_objects


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


def test_start_up_objects_are_frozen_and_later_garbage_is_still_collected():
    built_at_start = [Node()]
    try:
        freeze_long_lived_objects()
        assert gc.get_freeze_count() > 0
        assert not any(item is built_at_start for item in gc.get_objects())  # no longer walked

        later = Node()
        gone = weakref.ref(later)
        del later
        gc.collect()
        assert gone() is None
    finally:
        gc.unfreeze()
    assert any(item is built_at_start for item in gc.get_objects())
