"""CDR files into usage records, streamed: a chunk of rows at a time, each committed.

The parser reads the file line by line and the rows are stored a chunk per
transaction, so a 1 GB file needs no more memory than a couple of chunks. Each chunk is
rated and debited as it is stored (see `intake.store`), so a row is written once. On
PostgreSQL chunk N+1 is received and priced in this thread while a second one stores
chunk N (`_stored_overlapped`; what may be priced ahead, and why its price cannot
differ: `billing.usage.prepricing`). An earlier try, two chunks stored at once in two
transactions, gained nothing when the CPU bound was close to the ratio measured (1 M
rows, 36.3 s either way); see bench/rating_e2e.py (`--serial` for one chunk at a time).
Importing the same file again stores nothing new: every row is a duplicate.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from typing import Any

from billing.core.collector import collector_paused
from billing.runtime import Runtime
from billing.usage import parsing
from billing.usage.events import Reject, UsageEvent
from billing.usage.formats import asterisk, freeswitch, generic
from billing.usage.intake import Outcome, prepare, store
from billing.usage.intake_rows import event_row, malformed_row
from billing.usage.prepricing import Prepriced
from billing.usage.tally import Tally
from billing.usage.wire import event_dict

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
        return asterisk.parse(lines, asterisk_profile(options), build)
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


def asterisk_profile(options: ImportOptions | None) -> asterisk.AsteriskProfile:
    options = options or ImportOptions()
    return asterisk.AsteriskProfile(
        loguniqueid=options.loguniqueid,
        loguserfield=options.loguserfield,
        newcdrcolumns=options.newcdrcolumns,
        usegmtime=options.usegmtime,
        timezone=options.timezone,
    )


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
    overlap: bool | None = None,
) -> ImportSummary:
    """Store every row of a CDR stream; `tenant_id` or else each row's account code."""
    chunks = _chunks(parse(fmt, lines, options), tenant_id, chunk)
    return store_chunks(runtime, chunks, progress, overlap=overlap)


def _chunks(
    items: Iterator[UsageEvent | Reject], tenant_id: str | None, chunk: int
) -> Iterator[list[dict]]:
    while batch := list(islice(items, chunk)):
        yield [_row(item, tenant_id) for item in batch]


def store_chunks(
    runtime: Runtime,
    chunks: Iterable[list[dict]],
    progress: Callable[[int], None] | None = None,
    *,
    overlap: bool | None = None,
    summary: Any = None,
) -> ImportSummary:
    """Store each chunk of rows in its own transaction, in order; what became of them,
    added chunk by chunk to `summary` (anything with a Tally's `add`; a new Tally).

    On PostgreSQL (unless `overlap` is False) chunk N+1 is received and priced here
    while a second thread stores chunk N (`_stored_overlapped`)."""
    summary = ImportSummary() if summary is None else summary
    if overlap is None:
        overlap = runtime.engine.dialect.name == "postgresql"
    if overlap:
        return _stored_overlapped(runtime, chunks, progress, summary)
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


def _stored_overlapped(
    runtime: Runtime,
    chunks: Iterable[list[dict]],
    progress: Callable[[int], None] | None,
    summary: Any,
) -> ImportSummary:
    """`store_chunks` with chunk N+1 received and priced ahead (`intake.prepare`, in a
    short transaction of its own) while one writer thread stores chunk N.

    The writer stores the chunks one after another, each in its own transaction as
    before, so they commit in file order, each once; chunk N+1 is handed over only
    once chunk N has committed, and if chunk N failed, N+1 is never stored (what is
    committed is a prefix of the file, as one chunk at a time). Only what cannot differ
    is priced ahead, and checked again in the chunk's transaction
    (`billing.usage.prepricing`); duplicates, ids, bundles, debits, flags and
    reservations all happen in the chunk's transaction, after the one before committed.
    """
    writing: Future[list[Outcome]] | None = None
    written = 0
    with collector_paused(), ThreadPoolExecutor(1, thread_name_prefix="import-store") as writer:
        for rows in chunks:
            prepriced = prepare(runtime, rows)
            if writing is not None:
                _count(summary, writing.result(), written, progress)
            context = contextvars.copy_context()  # the app's, the relayer's
            writing = writer.submit(context.run, _store, runtime, rows, prepriced)
            written = len(rows)
        if writing is not None:
            _count(summary, writing.result(), written, progress)
    return summary


def _store(runtime: Runtime, rows: list[dict], prepriced: Prepriced | None) -> list[Outcome]:
    with runtime.unit_of_work() as session:
        return store(session, rows, prepriced=prepriced)


def _count(
    summary: ImportSummary,
    outcomes: list[Outcome],
    size: int,
    progress: Callable[[int], None] | None,
) -> None:
    summary.add(outcomes)
    if progress is not None:
        progress(size)


def _counted(lines: Iterable[str], advance: Callable[[int], None]) -> Iterator[str]:
    for line in lines:
        advance(len(line))
        yield line


def import_file(
    runtime: Runtime,
    path: str,
    fmt: str,
    *,
    tenant_id: str | None = None,
    options: ImportOptions | None = None,
    show_progress: bool = False,
    overlap: bool | None = None,
    storers: int | None = None,
) -> ImportSummary:
    """Import a CDR file from disk (with a progress bar if asked); `overlap` as
    `store_chunks` takes it. Asterisk's are read a block at a time in C
    (`formats.asterisk_columns`), the others line by line.

    A file of `PARALLEL_BYTES` or more is read and parsed in a second process, and on
    PostgreSQL stored by `storers` processes at once (`billing.usage.storers`; by
    default one a core, at most three; 1 to store it in this one); the
    chunks and every outcome are the same either way, and so is the summary.
    """
    import os

    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    size = os.path.getsize(path)
    with _progress(show_progress, size, os.path.basename(path)) as advance:
        if size >= PARALLEL_BYTES and parsing.available():
            ways = _storers(runtime, storers, overlap)
            if ways > 1:
                from billing.usage.storers import stored_by_processes

                return stored_by_processes(
                    runtime, path, fmt, tenant_id, options, CHUNK, ways, advance
                )
            parsed = parsing.parsed_elsewhere(path, fmt, tenant_id, options, CHUNK)
            return store_chunks(runtime, _shown(parsed, advance), overlap=overlap)
        if fmt == "asterisk":
            chunks = _asterisk_chunks(path, tenant_id, options, advance)
            return store_chunks(runtime, chunks, overlap=overlap)
        with open(path, encoding="utf-8", errors="replace", newline="") as handle:
            return import_lines(runtime, fmt, _counted(handle, advance), tenant_id=tenant_id,
                                options=options, overlap=overlap)  # fmt: skip


def _storers(runtime: Runtime, asked: int | None, overlap: bool | None) -> int:
    """How many processes store a large file: as asked, else on PostgreSQL one a core
    (at most `storers.STORERS`); elsewhere, and with `overlap` False, one: this."""
    from billing.usage.storers import default_storers

    if asked is not None:
        return max(1, asked)
    if overlap is False or runtime.engine.dialect.name != "postgresql":
        return 1
    return default_storers()


@contextmanager
def _progress(shown: bool, size: int, name: str) -> Iterator[Callable[[int], None]]:
    """How far the file has been read is told to what this gives: a progress bar of its
    size, if `shown`."""
    if not shown:
        yield lambda _size: None
        return
    import click

    with click.progressbar(length=size, label=f"importing {name}") as bar:
        yield bar.update


def _asterisk_chunks(
    path: str,
    tenant_id: str | None,
    options: ImportOptions | None,
    consumed: Callable[[int], None],
) -> Iterator[list[dict]]:
    """An Asterisk file's rows a chunk at a time, as `import_lines` would make them."""
    from billing.usage.formats import asterisk_columns  # pyarrow: loaded where used

    items = asterisk_columns.items(path, asterisk_profile(options), tenant_id, consumed)
    rows = (event_dict(item) if item.__class__ is tuple else _row(item, tenant_id)
            for item in items)  # fmt: skip
    while batch := list(islice(rows, CHUNK)):
        yield batch


def _shown(
    chunks: Iterable[tuple[list[dict], int]], advance: Callable[[int], None]
) -> Iterator[list[dict]]:
    for rows, read in chunks:
        advance(read)
        yield rows
