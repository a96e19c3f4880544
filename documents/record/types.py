"""The values that go into and come out of a decision record.

Everything here is plain data: the caller turns its models into these, and the record package
never touches the database.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, BinaryIO, Literal

if TYPE_CHECKING:
    from api.errors import ApiError

logger = logging.getLogger(__name__)

Kind = Literal["pdf", "image", "office", "other"]
KINDS: frozenset[str] = frozenset({"pdf", "image", "office", "other"})
Treatment = Literal["pages", "embedded"]


@dataclass(frozen=True)
class StampBox:
    """One approval box (押印欄) on the cover sheet; the signing step draws the seal into it."""

    label: str
    name: str = ""
    # Who signs into this box (e.g. "2:0" = stage 2, slot 0), kept in the record's layout.
    key: str = ""
    # Printed in the box instead of a seal, e.g. 第1版で承認（鈴木）: an approval of an earlier
    # version that this version's route did not ask again. A box with a note gets no seal.
    note: str = ""


@dataclass(frozen=True)
class CoverInfo:
    """What the cover sheet (起案用紙) shows. Texts arrive ready to print: no lookups happen here.

    `labels` overrides the default field labels by key (see `cover.DEFAULT_LABELS`); an unknown
    key is a ValueError so that a misspelt override does not go unnoticed.
    """

    title: str
    department: str
    drafter: str
    drafted_on: date | None
    doc_type: str
    amount: int | None
    counterparty: str
    transaction_date: date | None
    retention: str
    classification: str
    body: str
    version: int
    document_number: str | None = None
    decided_on: date | None = None
    route: list[str] = field(default_factory=list)
    stamp_boxes: list[StampBox] = field(default_factory=list)
    labels: Mapping[str, str] | None = None
    # 訂正: the decided record this document corrects, as printed ("総総第12号「…」").
    corrects: str = ""


@dataclass(frozen=True)
class RecordInput:
    """One attachment. `open()` must return a fresh stream of the original bytes on each call.

    `sha256` and `size` describe the original; they are printed on the cover and checked against
    the bytes read (an empty `sha256` skips the check).
    """

    attachment_id: int
    filename: str
    content_type: str
    kind: str
    sha256: str
    size: int
    open: Callable[[], BinaryIO]
    password: str | None = None


@dataclass(frozen=True)
class PartResult:
    attachment_id: int
    filename: str
    treatment: str
    first_page: int | None
    page_count: int
    note: str


@dataclass(frozen=True)
class StampRect:
    """A stamp box in PDF points, origin bottom-left of its page (as PDF and pyHanko use)."""

    index: int
    page: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class RecordResult:
    page_count: int
    parts: list[PartResult]
    stamp_rects: list[StampRect]
    cover_pages: int
    # the cover's value cells the decision fills ("document_number", "decided_on")
    cells: dict[str, StampRect] = field(default_factory=dict)


class RecordError(Exception):
    """An attachment cannot go into the record; the draft must be fixed before it can.

    `code` says why, for callers that show their own message: "encrypted" (a password is
    needed), "wrong_password", "unreadable" (not a readable PDF or image), "checksum" (the bytes
    read differ from the SHA-256 or size given), "kind" (an unknown kind).
    """

    def __init__(self, attachment_id: int, filename: str, code: str, message: str) -> None:
        super().__init__(message)
        self.attachment_id = attachment_id
        self.filename = filename
        self.code = code
        self.message = message

    def api_error(self) -> ApiError:
        """How the API reports it (`api.errors.exception_handler`): 422 record_<code>."""
        from api.errors import ApiError

        logger.warning("record could not be built: %s", self)
        return ApiError(f"record_{self.code}", str(self.message), 422)
