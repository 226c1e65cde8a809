"""The persistence the release core needs, as one small protocol.

A namespaced key-value store with an atomic ``put_if_absent`` and ordered prefix
queries is enough for every record the bot keeps (decisions, deployments,
validations, audit, message references, dedupe keys, the notification outbox),
and it maps directly onto SQLite (one table) and DynamoDB (one table, ``pk``/``sk``).
Keys sort lexicographically; time-ordered keys start with a fixed-width UTC time.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

Record = dict[str, Any]


class StoreError(Exception):
    """The store could not read or write; the operation changed nothing."""


@runtime_checkable
class Store(Protocol):
    def get(self, ns: str, key: str) -> Record | None: ...

    def put(self, ns: str, key: str, value: Record, ttl_seconds: int | None = None) -> None: ...

    def put_if_absent(self, ns: str, key: str, value: Record, ttl_seconds: int | None = None) -> bool:
        """Write only if no live record has this key; True if this call wrote it. Atomic."""
        ...

    def replace_if(self, ns: str, key: str, expected: Record, value: Record) -> bool:
        """Overwrite only if the current value equals ``expected``; True if it did. Atomic."""
        ...

    def delete(self, ns: str, key: str) -> None: ...

    def query(
        self,
        ns: str,
        prefix: str = "",
        *,
        limit: int | None = None,
        newest_first: bool = False,
        after: str | None = None,
    ) -> list[tuple[str, Record]]:
        """Live records of ``ns`` whose key starts with ``prefix``, in key order.

        ``after`` resumes a paged read: only keys past it in the order asked for (smaller ones when
        ``newest_first``), whether or not a record with that key still exists.
        """
        ...

    def close(self) -> None: ...
