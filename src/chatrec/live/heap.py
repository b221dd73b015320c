"""The heap a process builds while it starts, kept out of the cyclic collector's way.

A full collection walks every object the collector tracks, and most of them are what
start-up built and never frees: modules, the app, its routes and models (about 150,000
objects, some 90 ms of a full collection on this project's test machine). Python holds
the GIL throughout, so every chat's frames waited behind it: the 100-250 ms event-loop
stalls of ``recording_overhead`` (issue 13) were full collections, in the server's
threads and on its loop. Frozen after start-up, a full collection walks only what was
made since: live chats and their events.
"""

from __future__ import annotations

import gc


def freeze_start_up_heap() -> int:
    """Collect what start-up left unreachable, then freeze the rest; the frozen count.

    Frozen objects are still freed when their last reference goes; only a cycle among
    them would never be, so call this once start-up is done, not per request.
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
