"""Pausing Python's cyclic garbage collector over a bulk step that makes no cycles."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Run the block with the cyclic collector off, restoring it as it was, even on error.

    A bulk step (a chunk of 10,000 parsed rows rated and stored) allocates hundreds of
    thousands of container objects that outlive the young generations; each allocation
    past the thresholds starts a collection that walks them all again, and in the CDR
    import those passes cost a fifth of the importer's CPU. Reference counting still
    frees everything acyclic at once; the few cycles made meanwhile (a session's
    bookkeeping) are found by the first collection after the block.
    """
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()
