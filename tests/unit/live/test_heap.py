"""The start-up heap frozen out of full collections (issue 13: recording_overhead's stall)."""

from __future__ import annotations

import gc

from chatrec.live.heap import freeze_start_up_heap


def test_what_start_up_built_is_frozen_and_its_garbage_collected_first() -> None:
    kept: list[object] = []
    kept.append(kept)  # a cycle still referenced: start-up state
    garbage: list[object] = []
    garbage.append(garbage)
    garbage_id = id(garbage)
    del garbage  # a cycle no longer referenced: must not be frozen for ever
    try:
        frozen = freeze_start_up_heap()
        assert frozen == gc.get_freeze_count() > 0
        tracked = {id(o) for o in gc.get_objects()}
        assert id(kept) not in tracked  # a full collection no longer walks it
        assert garbage_id not in tracked
    finally:
        gc.unfreeze()
    assert id(kept) in {id(o) for o in gc.get_objects()}
