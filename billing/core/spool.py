"""A durable local spool: documents kept on disk while the database is away.

A document is one file, written under a temporary name, fsync'd, renamed into place
and its directory fsync'd: a file that is there is whole and survives a crash or a
power cut. A drain hands each file to a `store` that commits it, and removes the file
only after that commit. A crash in between leaves the file, and the next drain stores
it again, so `store` must be idempotent (the callback inbox's unique key is). Drains
may run at once in several processes: each file is taken under an exclusive lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
SUFFIX = ".json"
PARKED = "parked"  # documents a store refused for themselves (not for an outage)


@dataclass(frozen=True)
class Drained:
    stored: int  # committed and removed from the spool
    waiting: int  # still spooled (the database went away again, or another drain has it)
    parked: int  # refused by the store: kept under parked/ with the reason logged


class Spool:
    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)

    def put(self, name: str, document: dict[str, Any]) -> Path:
        """Write `document` durably; once this returns, it survives a crash."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)  # bodies, headers
        final = self.directory / f"{name}-{uuid.uuid4().hex[:12]}{SUFFIX}"
        temporary = self.directory / f".{final.name}.tmp"  # not SUFFIX: never drained
        data = json.dumps(document, separators=(",", ":")).encode()
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.rename(temporary, final)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        self._sync_directory()
        return final

    def waiting(self) -> list[Path]:
        """Spooled files, oldest name first (names start with the time they came)."""
        if not self.directory.is_dir():
            return []
        return sorted(self.directory.glob(f"*{SUFFIX}"))

    def count(self) -> int:
        return len(self.waiting())

    def drain(
        self,
        store: Callable[[dict[str, Any]], None],
        unavailable: tuple[type[BaseException], ...],
    ) -> Drained:
        """Store each file and remove it after the commit; stop at the first `unavailable`
        error (the rest waits for the next drain); park a file the store refuses."""
        stored = parked = 0
        for path in self.waiting():
            with self._taken(path) as document:
                if document is None:
                    continue
                try:
                    store(document)
                except unavailable:
                    break
                except Exception as error:
                    log.warning("spooled %s refused (%s); parked", path.name, type(error).__name__)
                    self._park(path)
                    parked += 1
                    continue
                os.unlink(path)  # after the commit: a crash before this stores it again
                self._sync_directory()
                stored += 1
        return Drained(stored=stored, waiting=self.count(), parked=parked)

    @contextlib.contextmanager
    def _taken(self, path: Path) -> Iterator[dict[str, Any] | None]:
        """The file's document under an exclusive lock; None if another drain has it or
        has stored it already. A lock dies with its process, so a crash frees the file."""
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            yield None
            return
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                if os.stat(path).st_ino != os.fstat(fd).st_ino:
                    raise FileNotFoundError(path)
            except (BlockingIOError, FileNotFoundError):
                yield None  # taken, or removed while we waited: another drain's
                return
            with os.fdopen(os.dup(fd), "rb") as file:
                raw = file.read()
            try:
                document = json.loads(raw)
            except ValueError:
                log.warning("spooled %s is not JSON; parked", path.name)
                self._park(path)
                yield None
                return
            yield document
        finally:
            os.close(fd)

    def _park(self, path: Path) -> None:
        parked = self.directory / PARKED
        parked.mkdir(exist_ok=True)
        os.rename(path, parked / path.name)
        self._sync_directory()

    def _sync_directory(self) -> None:
        """The rename or unlink itself is durable only once the directory is synced."""
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
