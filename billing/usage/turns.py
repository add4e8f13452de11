"""Two chunks of a file stored at once, in the file's order (issue 20: overlap).

A chunk's transaction spends most of its time in Python before it takes any lock
(receiving the rows, looking keys up, reading tariffs, pricing), then writes: debits,
the COPY of its rows, the commit, while Python mostly waits for the server. Storing
chunk N+1 in a second transaction while chunk N writes lets the two overlap, the
server's work and Python's on two cores. A `Turn` keeps what the order decides as it
was with one chunk at a time:

- ids: chunk N+1 takes its ids from the sequence after chunk N took its own;
- locks: chunk N+1 takes no lock and writes nothing before chunk N has committed, so
  wallets are debited and keys claimed in file order (a key in both chunks is chunk
  N's, and chunk N+1 finds it stored: the COPY fails, its savepoint is redone);
- commit: chunk N+1 commits after chunk N. If chunk N fails, chunk N+1 is undone too,
  so what is stored is always a prefix of the file, as before.
"""

from __future__ import annotations

import threading


class EarlierChunkFailed(RuntimeError):
    """The chunk before this one was not stored: this one is undone too."""


class Turn:
    """One chunk's place in the file's order; `before` is the chunk ahead of it."""

    def __init__(self, before: Turn | None = None) -> None:
        self._before = before
        self._numbered = threading.Event()
        self._finished = threading.Event()
        self._failed = False

    def ids_wait(self) -> None:
        """Block until the chunk ahead has taken its ids (or ended)."""
        if self._before is not None:
            self._before._numbered.wait()
            self._before._check()

    def ids_done(self) -> None:
        self._numbered.set()

    def locks_wait(self) -> None:
        """Block until the chunk ahead has committed; raise if it failed."""
        if self._before is not None:
            self._before._finished.wait()
            self._before._check()

    def done(self, stored: bool) -> None:
        """This chunk committed (`stored`) or was undone: the chunk behind may go on."""
        self._failed = not stored
        self._numbered.set()
        self._finished.set()

    def _check(self) -> None:
        if self._failed:
            raise EarlierChunkFailed("an earlier chunk of the file was not stored")
