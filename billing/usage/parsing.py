"""Reading and parsing a CDR file in a second process while this one rates and stores.

Parsing costs about half as much CPU as rating and storing, and the two need nothing
from each other but the rows: a child process reads the file and sends the rows a chunk
at a time, in file order, through a pipe, each event's row as a tuple of what varies
(`billing.usage.wire`: pickling dicts of datetimes cost a third of the child's CPU);
the importer rebuilds and stores each chunk in its own transaction exactly as it would
have parsed it itself. An Asterisk file is split and converted in C a few MB at a time
(`formats.asterisk_columns`: 14.4 s of the child's CPU a million rows became 6.7 s), the
other formats line by line. The pipe holds one chunk,
so the child is at most a chunk or two ahead and memory stays flat. Exactly-once is
untouched: the child writes nothing, and a chunk is stored (or not) by the importer's
transaction alone; if the importer fails, the child is stopped, and a re-import finds
the stored rows duplicates. With several storing processes (`billing.usage.storers`)
the child deals the chunks out in turn, one pipe each.

The child is forked (it starts at once, with the modules loaded), so it must never use
what it inherits: it runs with the garbage collector off, so no inherited database
connection is ever finalised there (which would end the parent's session), and it ends
by `os._exit` (multiprocessing's way), running no exit handlers.
"""

from __future__ import annotations

import gc
import multiprocessing
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import cycle
from multiprocessing.connection import Connection
from typing import Any

from billing.usage.wire import rows_from_wire


def available() -> bool:
    """Forking and a second core: without either, parsing in-process is as fast."""
    cores = multiprocessing.cpu_count() if hasattr(multiprocessing, "cpu_count") else 1
    return "fork" in multiprocessing.get_all_start_methods() and cores > 1


def parsed_elsewhere(
    path: str, fmt: str, tenant_id: str | None, options: Any, chunk: int
) -> Iterator[tuple[list[dict], int]]:
    """The file's rows a chunk at a time, with the characters read for each, parsed by a
    child process. The child is stopped when the caller stops iterating, however."""
    with parsing_child(path, fmt, tenant_id, options, chunk) as (receiver,):
        yield from received(receiver)


@contextmanager
def parsing_child(
    path: str, fmt: str, tenant_id: str | None, options: Any, chunk: int, ways: int = 1
) -> Iterator[list[Connection]]:
    """A child parsing the file, and the ends of `ways` pipes it sends the chunks down in
    turn (chunk k down pipe k % ways; `received` reads one). Stopped on leaving."""
    context = multiprocessing.get_context("fork")
    pipes = [context.Pipe(duplex=False) for _ in range(ways)]
    senders = [sender for _, sender in pipes]
    child = context.Process(
        target=_parse, args=(path, fmt, tenant_id, options, chunk, senders), daemon=True
    )
    child.start()
    for sender in senders:
        sender.close()
    receivers = [receiver for receiver, _ in pipes]
    try:
        yield receivers
    finally:
        for receiver in receivers:
            receiver.close()
        if child.is_alive():
            child.terminate()
        child.join()


def received(receiver: Connection) -> Iterator[tuple[list[dict], int]]:
    """The chunks down one pipe of `parsing_child`, each with the characters read for it,
    until the file's end; what failed in the child is raised here."""
    while True:
        try:
            message = receiver.recv()
        except EOFError:
            raise RuntimeError("the parsing process died") from None
        if message is None:
            return
        if isinstance(message, BaseException):
            raise message
        rows, read = message
        yield rows_from_wire(rows), read


def _parse(
    path: str,
    fmt: str,
    tenant_id: str | None,
    options: Any,
    chunk: int,
    senders: list[Connection],
) -> None:
    gc.disable()
    turns = cycle(senders)
    try:
        read = [0]
        rows: list[tuple | dict] = []  # an event as a tuple (billing.usage.wire)
        for row in _rows(path, fmt, tenant_id, options, read):
            rows.append(row)
            if len(rows) == chunk:
                next(turns).send((rows, read[0]))
                rows, read[0] = [], 0
        if rows:
            next(turns).send((rows, read[0]))
        for sender in senders:
            sender.send(None)
    except Exception as error:  # handed to the importer, which raises it
        for sender in senders:
            hand_over(sender, error, "parsing")
    finally:
        for sender in senders:
            sender.close()


def hand_over(sender: Connection, error: Exception, doing: str) -> None:
    """Send a child's error to the process that raises it; if it will not pickle, its
    text."""
    try:
        sender.send(error)
    except Exception:
        sender.send(RuntimeError(f"{doing} failed: {error!r}"))


def _rows(
    path: str, fmt: str, tenant_id: str | None, options: Any, read: list[int]
) -> Iterator[tuple | dict]:
    """The file's rows as they cross the pipe, counting what was read into `read[0]`:
    Asterisk's read a block at a time in C (formats.asterisk_columns), the others'
    line by line."""
    from billing.usage.events import UsageEvent
    from billing.usage.formats import asterisk_columns
    from billing.usage.imports import _counted, _row, asterisk_profile, parse
    from billing.usage.wire import event_wire

    def consumed(size: int) -> None:
        read[0] += size

    if fmt == "asterisk":
        profile = asterisk_profile(options)
        for item in asterisk_columns.items(path, profile, tenant_id, consumed):
            yield item if item.__class__ is tuple else _row(item, tenant_id)
        return
    with open(path, encoding="utf-8", errors="replace", newline="") as handle:
        for item in parse(fmt, _counted(handle, consumed), options):
            if item.__class__ is UsageEvent:
                yield event_wire(item, tenant_id or item.account or None)
            else:
                yield _row(item, tenant_id)
