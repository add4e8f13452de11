"""Attachments: checked by size, declared type and content (the bytes must be what the
type says), then kept in the database or, when a folder is configured, there by hash."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from billing.core.errors import InvalidInput
from billing.core.ids import new_id
from billing.disputes.models import DisputeAttachment

MAX_BYTES = 2 * 1024 * 1024  # each
MAX_FILES = 5  # per request


def _is_text(content: bytes) -> bool:
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return "\x00" not in text


# What each accepted type's content starts with (text: valid UTF-8 without NUL).
SIGNATURES = {
    "application/pdf": lambda content: content.startswith(b"%PDF-"),
    "image/png": lambda content: content.startswith(b"\x89PNG\r\n\x1a\n"),
    "image/jpeg": lambda content: content.startswith(b"\xff\xd8\xff"),
    "text/plain": _is_text,
    "text/csv": _is_text,
}


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    content: bytes


def check(uploads: list[Upload], field: str = "attachments") -> None:
    if len(uploads) > MAX_FILES:
        raise InvalidInput.on(field, f"at most {MAX_FILES} files")
    for n, upload in enumerate(uploads):
        where = f"{field}.{n}"
        if upload.content_type not in SIGNATURES:
            raise InvalidInput.on(
                f"{where}.content_type", f"one of {', '.join(sorted(SIGNATURES))}"
            )
        if not upload.content:
            raise InvalidInput.on(f"{where}.content_base64", "the file is empty")
        if len(upload.content) > MAX_BYTES:
            raise InvalidInput.on(f"{where}.content_base64", f"at most {MAX_BYTES} bytes")
        if not SIGNATURES[upload.content_type](upload.content):
            raise InvalidInput.on(
                f"{where}.content_base64", f"the content is not {upload.content_type}"
            )


def store(
    upload: Upload, dispute_id: str, uploaded_by: str, folder: str | None
) -> DisputeAttachment:
    digest = hashlib.sha256(upload.content).hexdigest()
    attachment = DisputeAttachment(
        id=new_id("att"),
        dispute_id=dispute_id,
        filename=os.path.basename(upload.filename)[:200] or "attachment",
        content_type=upload.content_type,
        size_bytes=len(upload.content),
        sha256=digest,
        uploaded_by=uploaded_by,
    )
    if folder:
        path = Path(folder) / digest[:2] / digest
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():  # content-addressed: the same file is kept once
            partial = path.with_suffix(".part")
            partial.write_bytes(upload.content)
            partial.replace(path)
        attachment.stored_path = str(path)
    else:
        attachment.content = upload.content
    return attachment


def read(attachment: DisputeAttachment) -> bytes:
    if attachment.stored_path:
        content = Path(attachment.stored_path).read_bytes()
        if hashlib.sha256(content).hexdigest() != attachment.sha256:
            raise OSError(f"attachment {attachment.id} changed on disk")
        return content
    return attachment.content or b""
