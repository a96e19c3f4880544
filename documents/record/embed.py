"""Files embedded in the record (EmbeddedFiles name tree and associated files).

Each original is embedded with its Unicode name (/UF), its MIME type as the stream /Subtype, its
size and MD5 (/Params /CheckSum, as the PDF standard defines it) and its SHA-256 in the
description, and is listed in the catalog's /AF (PDF 2.0 associated files). Files that an
attachment PDF itself carried are kept too, under their parent's number.
"""

from __future__ import annotations

import hashlib
import logging
import re
import zlib
from collections.abc import Sequence

from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    ByteStringObject,
    DecodedStreamObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    NumberObject,
    StreamObject,
    TextStringObject,
    create_string_object,
)

from documents.inspection import Limits
from documents.record.carried import Carried, empty, refusal
from documents.record.types import RecordInput

logger = logging.getLogger(__name__)

# Compressing what is compressed already (zip-based office files, JPEG, PDF) costs time for
# nothing: a sample tells whether Flate pays.
_SAMPLE = 64 * 1024
_WORTHWHILE = 0.9
_MIME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*$")


def _compressible(data: bytes) -> bool:
    sample = data[:_SAMPLE]
    return bool(sample) and len(zlib.compress(sample, 1)) < _WORTHWHILE * len(sample)


def _spec(value: object) -> DictionaryObject | None:
    found = value.get_object() if hasattr(value, "get_object") else value
    return found if isinstance(found, DictionaryObject) else None


class EmbeddedFiles:
    def __init__(self, writer: PdfWriter) -> None:
        self._writer = writer
        self._entries: list[tuple[TextStringObject, IndirectObject]] = []

    def add(self, number: int, item: RecordInput, data: bytes, relationship: str) -> None:
        stream: StreamObject = DecodedStreamObject()
        stream.set_data(data)
        if _compressible(data):
            stream = stream.flate_encode(level=6)
        stream[NameObject("/Type")] = NameObject("/EmbeddedFile")
        mime = item.content_type.split(";", 1)[0].strip().lower()
        if _MIME_RE.match(mime):
            stream[NameObject("/Subtype")] = NameObject("/" + mime)
        stream[NameObject("/Params")] = DictionaryObject(
            {
                NameObject("/Size"): NumberObject(len(data)),
                NameObject("/CheckSum"): ByteStringObject(
                    hashlib.md5(data, usedforsecurity=False).digest()
                ),
            }
        )
        file_ref = self._writer._add_object(stream)
        name = create_string_object(item.filename)
        filespec = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Filespec"),
                NameObject("/F"): name,
                NameObject("/UF"): name,
                NameObject("/EF"): DictionaryObject(
                    {NameObject("/F"): file_ref, NameObject("/UF"): file_ref}
                ),
                NameObject("/Desc"): TextStringObject(
                    f"添付{number}: {item.filename} (SHA-256 {item.sha256})"
                ),
                NameObject("/AFRelationship"): NameObject(relationship),
            }
        )
        self._append(f"{number:03d} {item.filename}", self._writer._add_object(filespec))

    def add_nested(
        self,
        number: int,
        parent: str,
        reader: PdfReader,
        annotated: Sequence[Carried] = (),
        limits: Limits | None = None,
    ) -> list[tuple[str, str]]:
        """Keep the files that an attachment PDF carried (its EmbeddedFiles, and the files of
        the FileAttachment annotations taken off its pages) that pass the checks of an
        attachment (documents.record.carried); the others are left out: (name, why) each."""
        carried: list[tuple[str, DictionaryObject | None]] = []
        try:
            carried += [(e.name, _spec(e.pdf_object)) for e in reader.attachment_list]
        except Exception:  # a broken name tree loses its files, not the record
            logger.warning("The embedded files of %r could not be read", parent)
        carried += [(c.name, c.spec) for c in annotated]
        removed: list[tuple[str, str]] = []
        for index, (name, found) in enumerate(carried, start=1):
            if found is None:
                continue
            why = refusal(name, found, limits or Limits())
            if why is not None:
                removed.append((name, why))
                empty(found)  # no effect on the reader's objects, which are not copied
                continue
            try:
                spec = found.clone(self._writer)
                if not isinstance(spec, DictionaryObject):
                    continue
                spec.pop("/RF", None)  # related files would point outside the record
                spec[NameObject("/Desc")] = TextStringObject(
                    f"添付{number} ({parent}) に含まれていたファイル: {name}"
                )
                reference = getattr(spec, "indirect_reference", None)
                if reference is None:
                    reference = self._writer._add_object(spec)
            except Exception as exc:  # a malformed file spec is left out, not fatal
                logger.warning("Embedded file %r of %r left out: %s", name, parent, exc)
                removed.append((name, "開けない"))
                continue
            self._append(f"{number:03d}.{index:03d} {name}", reference)
        return removed

    def _append(self, key: str, reference: IndirectObject) -> None:
        self._entries.append((create_string_object(key), reference))  # type: ignore[arg-type]

    def finish(self) -> None:
        """Write the name tree (sorted by the keys' bytes, as the standard requires) and /AF."""
        if not self._entries:
            return
        entries = sorted(self._entries, key=lambda entry: entry[0].get_encoded_bytes())
        flat = ArrayObject()
        for key, reference in entries:
            flat.extend([key, reference])
        root = self._writer.root_object
        existing = root.get("/Names")
        names = existing.get_object() if existing is not None else None
        if not isinstance(names, DictionaryObject):
            names = DictionaryObject()
            root[NameObject("/Names")] = self._writer._add_object(names)
        names[NameObject("/EmbeddedFiles")] = self._writer._add_object(
            DictionaryObject({NameObject("/Names"): flat})
        )
        root[NameObject("/AF")] = ArrayObject(reference for _, reference in self._entries)
