"""The decision record: one self-contained PDF per document version (DESIGN.md §2).

    from documents.record import CoverInfo, RecordInput, StampBox, build_record
    with open(path, "wb") as out:
        result = build_record(cover, inputs, out)

A cover sheet (起案用紙) with one empty stamp box per approver (their rectangles come back in
`result.stamp_rects` for the signing step), then the pages of every PDF, image and converted
office attachment, bookmarked by file name; originals that are not PDF pages are embedded as PDF
file attachments and listed on the cover. Active content (JavaScript, launch actions) is stripped.
Pure Python on streams: no database access.
"""

from documents.record.assemble import build_record
from documents.record.convert import ConversionError, Converter, OfficeConverter
from documents.record.cover import DEFAULT_LABELS
from documents.record.types import (
    CoverInfo,
    PartResult,
    RecordError,
    RecordInput,
    RecordResult,
    StampBox,
    StampRect,
)

__all__ = [
    "DEFAULT_LABELS",
    "ConversionError",
    "Converter",
    "CoverInfo",
    "OfficeConverter",
    "PartResult",
    "RecordError",
    "RecordInput",
    "RecordResult",
    "StampBox",
    "StampRect",
    "build_record",
]
