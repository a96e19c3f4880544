"""The exceptions every object store raises, whatever the backend.

Callers catch these and nothing from the backends' libraries: `StorageUnavailable` becomes a 503
with a "try again later" message, `ObjectNotFound` a 404; the others are bugs or policy refusals.
"""

from __future__ import annotations


class StorageError(Exception):
    """Base class: something about the object store went wrong."""


class StorageUnavailable(StorageError):
    """The object store cannot be reached or answered with a server error (an outage).

    Nothing was stored or changed by the failed call; the same call may simply be retried later.
    """

    def __init__(self, detail: str = "") -> None:
        message = "The object store is unreachable; try again later."
        if detail:
            message = f"{message} ({detail})"
        super().__init__(message)
        self.detail = detail


class ObjectNotFound(StorageError):
    """No object is stored under this key."""

    def __init__(self, key: str) -> None:
        super().__init__(f"No object is stored under key {key!r}.")
        self.key = key


class ObjectIntegrityError(StorageError):
    """The bytes do not match the SHA-256 (or length) they were announced with.

    Raised before anything is stored: the store is left as it was.
    """


class RetentionError(StorageError):
    """Refused by retention: deleting an object before its retention date, or asking for retention
    from a store that cannot enforce it."""
