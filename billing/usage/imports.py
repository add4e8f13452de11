"""CDR files into usage records, streamed: a chunk of rows at a time, each committed.

The parser reads the file line by line and the rows are stored a chunk per
transaction, so a 1 GB file needs no more memory than one chunk. Each chunk is rated
and debited as it is stored (see `intake.store`), so a row is written once. Storing two
chunks at once (the next pricing while the last writes) was measured and not kept: on
2 cores it changed nothing (1 M rows, 36.3 s either way; see bench/rating_e2e.py).
Importing the same file again stores nothing new: every row is a duplicate.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any

from billing.core.collector import collector_paused
from billing.runtime import Runtime
from billing.usage import parsing
from billing.usage.events import Reject, UsageEvent
from billing.usage.formats import asterisk, freeswitch, generic
from billing.usage.intake import store
from billing.usage.intake_rows import event_row, malformed_row
from billing.usage.tally import Tally

# Rows a transaction: each chunk costs about a hundred statements whatever its size (the
# tariffs in force, a debit a prepaid tenant, flags, accruals, the commit); 20,000
# rather than 10,000 took a tenth off the importer's and the server's CPU, for ~40 MB
# more resident (a chunk's rows are held while it is stored).
CHUNK = 20_000
PARALLEL_BYTES = 16 << 20  # below this, a second process costs more than it saves
FORMATS = ("asterisk", "freeswitch", "generic")


ImportSummary = Tally  # what became of a file's rows (billing.usage.tally)


@dataclass(frozen=True)
class ImportOptions:
    """How the file was written: the `[csv]` settings of Asterisk's cdr.conf, FreeSWITCH's
    template, and the zone of stamps written without one."""

    loguniqueid: bool = True
    loguserfield: bool = True
    newcdrcolumns: bool = False
    usegmtime: bool = False
    template: str = "example"  # FreeSWITCH mod_cdr_csv: example or asterisk
    timezone: str = "Africa/Dar_es_Salaam"


def parse(
    fmt: str, lines: Iterable[str], options: ImportOptions | None = None, build: Any = None
) -> Iterator[UsageEvent | Reject]:
    """The file's events and rejects; with `build`, Asterisk's good rows are what it makes
    of their fields (formats.asterisk.parse), the other formats' events as they are."""
    options = options or ImportOptions()
    if fmt == "asterisk":
        profile = asterisk.AsteriskProfile(
            loguniqueid=options.loguniqueid,
            loguserfield=options.loguserfield,
            newcdrcolumns=options.newcdrcolumns,
            usegmtime=options.usegmtime,
            timezone=options.timezone,
        )
        return asterisk.parse(lines, profile, build)
    if fmt == "freeswitch":
        columns = (
            freeswitch.ASTERISK_TEMPLATE
            if options.template == "asterisk"
            else freeswitch.EXAMPLE_TEMPLATE
        )
        return freeswitch.parse(lines, freeswitch.FreeSwitchProfile(columns, options.timezone))
    if fmt == "generic":
        return generic.parse(lines, generic.GenericProfile(options.timezone))
    raise ValueError(f"unknown format {fmt!r}")


def _row(item: UsageEvent | Reject, tenant_id: str | None) -> dict:
    if isinstance(item, Reject):
        raw = {"line": item.line_no, "fields": list(item.raw)}
        reason = f"line {item.line_no}: {item.reason}"
        return malformed_row(item.source_system, reason, raw, tenant_id)
    return event_row(item, tenant_id or item.account or None)


def import_lines(
    runtime: Runtime,
    fmt: str,
    lines: Iterable[str],
    *,
    tenant_id: str | None = None,
    options: ImportOptions | None = None,
    progress: Callable[[int], None] | None = None,
    chunk: int = CHUNK,
) -> ImportSummary:
    """Store every row of a CDR stream; `tenant_id` or else each row's account code."""
    return store_chunks(runtime, _chunks(parse(fmt, lines, options), tenant_id, chunk), progress)


def _chunks(
    items: Iterator[UsageEvent | Reject], tenant_id: str | None, chunk: int
) -> Iterator[list[dict]]:
    while batch := list(islice(items, chunk)):
        yield [_row(item, tenant_id) for item in batch]


def store_chunks(
    runtime: Runtime,
    chunks: Iterable[list[dict]],
    progress: Callable[[int], None] | None = None,
) -> ImportSummary:
    """Store each chunk of rows in its own transaction, in order; what became of them."""
    summary = ImportSummary()
    chunks = iter(chunks)
    while True:
        with collector_paused():  # receiving and storing a chunk makes no cycles to find
            rows = next(chunks, None)
            if rows is None:
                break
            with runtime.unit_of_work() as session:
                outcomes = store(session, rows)
        summary.add(outcomes)
        if progress is not None:
            progress(len(rows))
    return summary


def _counted(lines: Iterable[str], bar) -> Iterator[str]:
    for line in lines:
        bar.update(len(line))
        yield line


def import_file(
    runtime: Runtime,
    path: str,
    fmt: str,
    *,
    tenant_id: str | None = None,
    options: ImportOptions | None = None,
    show_progress: bool = False,
) -> ImportSummary:
    """Import a CDR file from disk, read line by line (with a progress bar if asked).

    A file of `PARALLEL_BYTES` or more is read and parsed in a second process while this
    one rates and stores (see `billing.usage.parsing`); the chunks and their order, and
    so every outcome, are the same either way.
    """
    import os

    import click

    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    size = os.path.getsize(path)
    if size >= PARALLEL_BYTES and parsing.available():
        chunks = parsing.parsed_elsewhere(path, fmt, tenant_id, options, CHUNK)
        if not show_progress:
            return store_chunks(runtime, (rows for rows, _read in chunks))
        with click.progressbar(length=size, label=f"importing {os.path.basename(path)}") as bar:
            return store_chunks(runtime, _shown(chunks, bar))
    with open(path, encoding="utf-8", errors="replace", newline="") as handle:
        if not show_progress:
            return import_lines(runtime, fmt, handle, tenant_id=tenant_id, options=options)
        with click.progressbar(length=size, label=f"importing {os.path.basename(path)}") as bar:
            return import_lines(
                runtime, fmt, _counted(handle, bar), tenant_id=tenant_id, options=options
            )


def _shown(chunks: Iterable[tuple[list[dict], int]], bar) -> Iterator[list[dict]]:
    for rows, read in chunks:
        bar.update(read)
        yield rows
