"""Files that an attachment PDF carries inside it: checked like attachments, or removed.

A PDF may carry files of its own, in its EmbeddedFiles name tree or as FileAttachment annotations
on its pages (a paper-clip icon that opens the file). An .exe refused as an attachment must not
reach the record that way. When a PDF's pages are copied into the record:
- every FileAttachment annotation is taken off its page (an icon that opens a file is active
  content); its file joins the files the PDF carried;
- each carried file is checked as an upload is (`documents.inspection.inspect_file`: programs,
  type by content, bombs, encryption, names); those that pass are kept in the record's
  EmbeddedFiles under the parent's number, the others are left out;
- the cover's note for the attachment names what was left out and why.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pypdf import PageObject
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, StreamObject

from documents.inspection import Limits, UploadRefused, _inflated_size, inspect_file

# The cover is in Japanese (documents.record.cover's labels).
NOTE_REMOVED = "含まれていたファイルを除去: {files}"
_REASONS = {
    "unsupported": "プログラム等",
    "encrypted_file": "パスワード保護",
    "encrypted_pdf": "パスワード保護",
    "pdf_bomb": "異常に大きく展開",
    "zip_bomb": "異常に大きく展開",
    "bad_filename": "使えない名前",
    "type_mismatch": "名前と中身が不一致",
    "not_a_pdf": "名前と中身が不一致",
    "empty_file": "空",
    "too_large": "大きすぎる",
}


@dataclass(frozen=True)
class Carried:
    name: str
    spec: DictionaryObject


def _text(value: object) -> str:
    value = value.get_object() if hasattr(value, "get_object") else value
    if isinstance(value, bytes):
        return value.decode("latin-1", "replace")
    return str(value) if value is not None else ""


def spec_name(spec: DictionaryObject, fallback: str = "") -> str:
    for key in ("/UF", "/F"):
        if key in spec and _text(spec[key]):
            return _text(spec[key])
    return fallback


def _file_stream(spec: DictionaryObject) -> StreamObject | None:
    ef = spec.get("/EF")
    ef = ef.get_object() if ef is not None else None
    if not isinstance(ef, DictionaryObject):
        return None
    for key in ("/UF", "/F"):
        stream = ef.get(key)
        stream = stream.get_object() if stream is not None else None
        if isinstance(stream, StreamObject):
            return stream
    return None


def take_file_attachments(pages: Iterable[PageObject]) -> list[Carried]:
    """Removes the FileAttachment annotations of these pages; the files they carried."""
    found: list[Carried] = []
    for page in pages:
        annots = page.get("/Annots")
        annots = annots.get_object() if annots is not None else None
        if not isinstance(annots, ArrayObject):
            continue
        kept = ArrayObject()
        for ref in annots:
            annot = ref.get_object()
            if isinstance(annot, DictionaryObject) and annot.get("/Subtype") == "/FileAttachment":
                spec = annot.get("/FS")
                spec = spec.get_object() if spec is not None else None
                if isinstance(spec, DictionaryObject):
                    found.append(Carried(spec_name(spec, _text(annot.get("/Contents"))), spec))
                continue
            kept.append(ref)
        page[NameObject("/Annots")] = kept
    return found


def refusal(name: str, spec: DictionaryObject, limits: Limits) -> str | None:
    """Why this carried file would be refused as an attachment, or None if it would be kept."""
    stream = _file_stream(spec)
    if stream is None:
        return "中身なし"
    try:
        _inflated_size(stream, name or "?", limits.max_file_bytes)
        data = stream.get_data()
        with tempfile.TemporaryDirectory(prefix="ekessai-carried-") as tmp:
            path = Path(tmp) / "file"
            path.write_bytes(data)
            inspect_file(path, name, limits=limits)
    except UploadRefused as exc:
        return _REASONS.get(exc.code, "開けない")
    except Exception:  # pypdf raises anything on a malformed stream
        return "開けない"
    return None


def empty(spec: DictionaryObject) -> None:
    """Leaves a refused file's bytes out of the record. Its stream was copied with the page it was
    annotated on, and pypdf writes every object it copied, referenced or not."""
    stream = _file_stream(spec)
    if stream is None:
        return
    for key in ("/Filter", "/DecodeParms", "/Params", "/DL"):
        stream.pop(key, None)
    # StreamObject's own setter: an encoded stream's would decode the (possibly bomb) data first.
    StreamObject.set_data(stream, b"")
    spec.pop("/EF", None)


def note(part_note: str, removed: list[tuple[str, str]]) -> str:
    """The attachment's cover note with the carried files left out: 「a.exe（プログラム等）」."""
    if not removed:
        return part_note
    files = "、".join(f"{name or '?'}（{why}）" for name, why in removed)
    return "; ".join(filter(None, [part_note, NOTE_REMOVED.format(files=files)]))
