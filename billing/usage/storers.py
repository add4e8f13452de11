"""A large CDR file stored by several processes at once, each chunk by one of them.

One process stores a chunk while it prices the next (`imports._stored_overlapped`),
but both halves share its interpreter lock: on 2 cores the importer kept one core busy
and left the other idle a third of the time (1 M rows: 51.5-54.1 s, against 42.2-42.4 s
in two processes, back to back, the CPU of all of them unchanged). So the parsing child
sends chunk k to storer k % N (`parsing.parsing_child`), each storer stores its chunks
in order as one importer would, and this process adds up their tallies in file order,
so the summary (its rejected samples too) is the one a single importer gives.

Each chunk is still its own transaction, stored once: duplicates, debits and flags are
found and made in it, as ever. What changes: the chunks of different storers commit in
whatever order they finish, so what an interrupted import committed is no longer a
prefix of the file (a re-import stores the rest and finds the others duplicates), a
row's id follows the file's order within its chunk, not across chunks, and a wallet too
short for the whole file pays for the chunks in the order they settle. Two chunks
debiting the same tenant take its wallet in turn (row locks, tenants in one order); a
key twice in the file, in chunks stored at once, is stored once (the unique key, then
the redo of `rated_insert`). If a storer fails, the others and the parser are stopped
and its error raised here; what any storer committed stays committed.

Storers are forked, as the parsing child is: the engine's pool and the relayer are
reset in the child (`Runtime.build`, `Relayer`), and each ends by `os._exit`.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection, wait
from typing import Any

from billing.runtime import Runtime
from billing.usage import parsing
from billing.usage.imports import store_chunks
from billing.usage.tally import Tally

# Storers a file at most. On 2 cores three measured as two (1 M rows 39.5-46.5 s against
# 42.2-42.4 s): one a core, and no more than three, since every chunk holds its tenants'
# wallets through its COPY, and so the COPYs take turns anyway.
STORERS = 3


def default_storers() -> int:
    """Storers for a file on this machine: one a core, at most `STORERS`."""
    return max(1, min(os.cpu_count() or 1, STORERS))


def stored_by_processes(
    runtime: Runtime,
    path: str,
    fmt: str,
    tenant_id: str | None,
    options: Any,
    chunk: int,
    storers: int,
    advance: Callable[[int], None],
) -> Tally:
    """Store the file's chunks in `storers` processes (`imports.store_chunks` in each, on
    the chunks down its pipe); what became of its rows, counted in file order."""
    context = multiprocessing.get_context("fork")
    with parsing.parsing_child(path, fmt, tenant_id, options, chunk, storers) as receivers:
        processes, results = [], []
        for turn, receiver in enumerate(receivers):
            reader, writer = context.Pipe(duplex=False)
            process = context.Process(
                target=_storer,
                args=(runtime, receiver, writer, turn, storers),
                daemon=True,
            )
            process.start()
            writer.close()
            processes.append(process)
            results.append(reader)
        try:
            return _tallied(results, advance)
        finally:
            for process in processes:
                if process.is_alive():
                    process.terminate()
                process.join()
            for reader in results:
                reader.close()


def _tallied(results: list[Connection], advance: Callable[[int], None]) -> Tally:
    """The storers' chunk tallies added up in file order, as they come."""
    total, waiting, following = Tally(), {}, 0
    running = list(results)
    while running:
        for reader in wait(running):
            try:
                message = reader.recv()
            except EOFError:
                raise RuntimeError("a storing process died before it finished") from None
            if message is None:  # that storer is done
                running.remove(reader)
                continue
            if isinstance(message, BaseException):
                raise message
            index, tally, read = message
            waiting[index] = (tally, read)
            while following in waiting:
                tally, read = waiting.pop(following)
                total.merge(tally)
                advance(read)
                following += 1
    if waiting:  # a chunk's tally never came: its storer ended without it
        raise RuntimeError(f"chunk {following} of the file was never accounted for")
    return total


class _ChunkTallies:
    """`store_chunks`'s summary in a storer: each chunk's outcomes sent on, as a tally
    numbered by the chunk's place in the file."""

    def __init__(self, sender: Connection, reads: list[int], turn: int, storers: int) -> None:
        self._sender, self._reads = sender, reads
        self._index, self._step = turn, storers

    def add(self, outcomes: Any) -> None:
        self._sender.send((self._index, Tally().add(outcomes), self._reads.pop(0)))
        self._index += self._step


def _storer(
    runtime: Runtime,
    receiver: Connection,
    sender: Connection,
    turn: int,
    storers: int,
) -> None:
    reads: list[int] = []

    def chunks() -> Iterator[list[dict]]:
        for rows, read in parsing.received(receiver):
            reads.append(read)
            yield rows

    try:
        store_chunks(runtime, chunks(), summary=_ChunkTallies(sender, reads, turn, storers))
        runtime.relayer.flush()
        sender.send(None)
    except Exception as error:  # raised by the importer
        parsing.hand_over(sender, error, "storing")
    finally:
        sender.close()
