"""File uploads as Slack takes them: ``files.getUploadURLExternal``, a POST of the bytes, then
``files.completeUploadExternal`` (what ``slack_sdk``'s ``files_upload_v2`` calls, in that order).

Checked against Slack's method reference: ``filename`` and ``length`` are required and a zero
``length`` is ``missing_argument``; ``alt_txt`` is at most 1,000 characters; ``files`` is a required
JSON array of ``{"id", "title"}``; a file is completed once; without ``channel_id`` it stays private;
``thread_ts`` must name a parent message. A shared file arrives as a message with a ``files`` list.
With a ``files_dir`` the bytes are written there (the terminal chat's home); else they stay in memory.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from runtimes.slack_local.arguments import json_arg, required
from runtimes.slack_local.interactions import Interactions
from runtimes.slack_local.model import JSON, SlackApiFault

__all__ = ["FILE_METHODS", "MAX_ALT_TEXT", "MAX_UPLOAD_BYTES", "FileApi", "UploadedFile"]

MAX_ALT_TEXT = 1000
#: what this workspace accepts per file (Slack's own limit is 1 GB; nothing here needs more)
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class UploadedFile:
    id: str
    filename: str
    length: int
    alt_txt: str | None
    data: bytes | None = None
    path: Path | None = None
    title: str = ""
    completed: bool = False
    shared_in: tuple[str, str] | None = None  # (channel, ts) of the message that shares it

    def to_api(self) -> JSON:
        kind = self.filename.rsplit(".", 1)[-1].lower() if "." in self.filename else "binary"
        doc: JSON = {
            "id": self.id,
            "name": self.filename,
            "title": self.title or self.filename,
            "filetype": kind,
            "mimetype": "image/png" if kind == "png" else "application/octet-stream",
            "size": self.length,
        }
        if self.alt_txt:
            doc["alt_txt"] = self.alt_txt
        return doc


class FileApi(Interactions):
    """Uploads; :meth:`file` and :meth:`file_bytes` let tests and the chat look at what arrived."""

    files_dir: Path | None = None
    _files: dict[str, UploadedFile]

    def _init_files(self, files_dir: Path | None) -> None:
        self.files_dir = files_dir
        self._files = {}

    def file(self, file_id: str) -> UploadedFile | None:
        with self._lock:
            return self._files.get(file_id)

    def file_path(self, doc: JSON) -> Path | None:
        """Where a file (as a message lists it) is kept under ``files_dir``; None when kept in memory.

        Made of the file's id and its name reduced to safe characters, so a name cannot leave the folder.
        """
        if self.files_dir is None:
            return None
        name = _UNSAFE.sub("_", Path(str(doc.get("name", ""))).name).lstrip(".") or "file"
        return self.files_dir / f"{_UNSAFE.sub('_', str(doc.get('id', '')))}-{name}"

    def file_bytes(self, file_id: str) -> bytes | None:
        found = self.file(file_id)
        if found is None:
            return None
        if found.data is not None:
            return found.data
        return found.path.read_bytes() if found.path is not None and found.path.exists() else None

    def _files_get_upload_url_external(self, args: JSON) -> JSON:
        filename = required(args, "filename")
        try:
            length = int(required(args, "length"))
        except ValueError:
            raise SlackApiFault("invalid_arguments", messages=["length must be an integer"]) from None
        if length <= 0:
            raise SlackApiFault("missing_argument")
        if length > MAX_UPLOAD_BYTES:
            raise SlackApiFault("file_upload_size_restricted")
        alt = args.get("alt_txt") or None
        if alt is not None and len(str(alt)) > MAX_ALT_TEXT:
            raise SlackApiFault("alt_txt_too_large")
        file_id = "F" + secrets.token_hex(5).upper()
        with self._lock:
            self._files[file_id] = UploadedFile(file_id, filename, length, None if alt is None else str(alt))
        return {"ok": True, "upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}

    def receive_upload(self, file_id: str, data: bytes) -> int:
        """The POST of a file's bytes to its upload URL: the HTTP status Slack's upload service answers."""
        with self._lock:
            found = self._files.get(file_id)
            if found is None or found.completed:
                return 404
            if len(data) != found.length:
                return 400  # the bytes must be the length announced
            found.path = self.file_path(found.to_api())
            if found.path is not None:
                found.path.parent.mkdir(parents=True, exist_ok=True)
                found.path.write_bytes(data)
            else:
                found.data = data
        return 200

    def _files_complete_upload_external(self, args: JSON) -> JSON:
        listed = json_arg(args, "files")
        if not isinstance(listed, list) or not listed or not all(isinstance(f, dict) for f in listed):
            raise SlackApiFault("invalid_arguments", messages=["files must be a non-empty array of objects"])
        channel = args.get("channel_id") or None
        thread_ts = args.get("thread_ts") or None
        comment = str(args.get("initial_comment") or "")
        with self._lock:
            cid = self.channel_id(str(channel)) if channel else None
            if thread_ts is not None:
                parent = self._messages.get((cid or "", str(thread_ts)))
                if cid is None or parent is None or parent.thread_ts not in (None, parent.ts):
                    raise SlackApiFault("invalid_thread_ts")
            chosen: list[UploadedFile] = []
            for entry in listed:
                found = self._files.get(str(entry.get("id", "")))
                if found is None or found.completed or (found.data is None and found.path is None):
                    raise SlackApiFault("file_not_found")
                chosen.append(found)
            for found, entry in zip(chosen, listed, strict=True):
                found.title = str(entry.get("title") or found.filename)
                found.completed = True
            docs = [f.to_api() for f in chosen]
            if cid is not None:
                where = None if thread_ts is None else str(thread_ts)
                msg = self._post(cid, comment, [], thread_ts=where, files=tuple(docs))
                for found in chosen:
                    found.shared_in = (cid, msg.ts)
        return {"ok": True, "files": [{"id": d["id"], "title": d["title"]} for d in docs]}


FILE_METHODS = {
    "files.getUploadURLExternal": FileApi._files_get_upload_url_external,
    "files.completeUploadExternal": FileApi._files_complete_upload_external,
}
