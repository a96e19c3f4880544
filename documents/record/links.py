"""Destinations, the outline, and letting go of the readers that pages were copied from.

Two attachments made by the same tool often use the same destination names (pdfLaTeX's
"page.1", "Doc-Start"): copied as names they would collide in the record and a link in the second
file would jump into the first. Every copied link is therefore turned into an explicit
destination (page object and view), and the record keeps no named destinations.

The outline is ours too: "起案用紙" for the cover, then "添付ファイル" with one item per file, the
file's own outline nested under it (navigation only: an outline item of the attachment carrying
an action is rebuilt as a plain destination).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pypdf import PageObject, PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    ByteStringObject,
    DictionaryObject,
    Fit,
    IndirectObject,
    NameObject,
    PdfObject,
    TextStringObject,
)

MAX_OUTLINE_DEPTH = 16
MAX_OUTLINE_ITEMS = 5000  # per attachment: a runaway outline must not make the record huge


@dataclass
class OutlineNode:
    title: str
    page: int | None  # 0-based page within its attachment; None when it leads outside
    view: list[PdfObject]  # the fit type and its arguments, as in a destination array
    children: list[OutlineNode] = field(default_factory=list)


def release_reader(writer: PdfWriter, reader: PdfReader, pages: Sequence[PageObject]) -> None:
    """Forget `reader` inside `writer`, so that it (and its bytes) can be freed now.

    pypdf (7.1) keeps, for link fixing at write time, the source page of every copied page, and
    per reader a map of cloned object numbers keyed by `id(reader)`. Links were fixed already
    (see `explicit_destinations`); and a stale map is harmful, not just large: a later reader
    allocated at the same address would find its objects "already cloned".
    """
    writer._id_translated.pop(id(reader), None)
    merged = getattr(writer, "_merged_in_pages", None)
    if isinstance(merged, dict):
        for source in [key for key in merged if getattr(key, "pdf", None) is reader]:
            del merged[source]
    for page in pages:
        vars(page).pop("original_page", None)


def _name_of(reference: PdfObject) -> str | None:
    value = reference.get_object()
    if isinstance(value, (TextStringObject, NameObject)):
        return str(value)
    if isinstance(value, ByteStringObject):
        return bytes(value).decode("latin-1")
    return None


def explicit_destinations(
    writer: PdfWriter, reader: PdfReader, new_pages: Sequence[PageObject]
) -> None:
    """Point every named link on the copied pages at its page in the record."""
    index = _page_index(reader)
    named: dict[str, Any] | None = None
    for page in new_pages:
        annots = page.get("/Annots")
        if annots is None:
            continue
        for ref in annots.get_object():
            annot = ref.get_object()
            if not isinstance(annot, DictionaryObject) or annot.get("/Subtype") != "/Link":
                continue
            holder, key = annot, "/Dest"
            action = annot.get("/A")
            if "/Dest" not in annot and action is not None:
                action = action.get_object()
                if isinstance(action, DictionaryObject) and action.get("/S") == "/GoTo":
                    holder, key = action, "/D"
            if key not in holder:
                continue
            name = _name_of(holder[key])
            if name is None:
                continue
            if named is None:
                named = dict(reader.named_destinations)
            target = named.get(name)
            position = index.get(_idnum(target.page)) if target is not None else None
            if target is None or position is None or position >= len(new_pages):
                del holder[key]  # a link to nowhere: inert is better than into another file
                continue
            array = target.dest_array
            holder[NameObject(key)] = ArrayObject(
                [new_pages[position].indirect_reference, *array[1:]]
            )


def _idnum(page: Any) -> int | None:
    if isinstance(page, IndirectObject):
        return page.idnum
    reference = getattr(page, "indirect_reference", None)
    return reference.idnum if reference is not None else None


def _page_index(reader: PdfReader) -> dict[int | None, int]:
    return {_idnum(page): i for i, page in enumerate(reader.pages)}


def read_outline(reader: PdfReader) -> list[OutlineNode]:
    """The attachment's own outline, with page numbers relative to the attachment."""
    if "/Outlines" not in reader.root_object:
        return []
    try:
        items = reader.outline
    except Exception:  # a broken outline is dropped; the pages still count
        return []
    index = _page_index(reader)
    budget = [MAX_OUTLINE_ITEMS]
    return _nodes(items, index, 0, budget)


def _nodes(
    items: Any, index: dict[int | None, int], depth: int, budget: list[int]
) -> list[OutlineNode]:
    nodes: list[OutlineNode] = []
    if depth > MAX_OUTLINE_DEPTH:
        return nodes
    for entry in items:
        if budget[0] <= 0:
            break
        if isinstance(entry, list):
            children = _nodes(entry, index, depth + 1, budget)
            (nodes[-1].children if nodes else nodes).extend(children)
            continue
        budget[0] -= 1
        page = _idnum(entry.get("/Page"))
        try:
            view = list(entry.dest_array[1:])
        except Exception:  # an incomplete destination shows the page whole
            view = [NameObject("/Fit")]
        nodes.append(OutlineNode(str(entry.title or ""), index.get(page), view))
    return nodes


def build_outline(
    writer: PdfWriter,
    labels: dict[str, str],
    cover_pages: int,
    attachments_page: int,
    parts: Sequence[tuple[str, int | None, list[OutlineNode]]],
) -> None:
    """The record's outline; `parts` are (file name, index of its first page among the
    attachment pages or None when it is only embedded, its own outline)."""
    writer.add_outline_item(title=labels["cover_outline"], page_number=0)
    if not parts:
        return
    starts = [first for _, first, _ in parts if first is not None]
    top = writer.add_outline_item(
        title=labels["attachments"],
        page_number=cover_pages + starts[0] if starts else attachments_page - 1,
    )
    for filename, first, outline in parts:
        # An embedded-only file leads to the cover page that lists it.
        page = cover_pages + first if first is not None else attachments_page - 1
        item = writer.add_outline_item(title=filename, page_number=page, parent=top, is_open=False)
        if first is not None:
            _add_nodes(writer, item, outline, cover_pages + first)


def _add_nodes(
    writer: PdfWriter, parent: IndirectObject, nodes: list[OutlineNode], base: int
) -> None:
    for node in nodes:
        page = base + (node.page if node.page is not None else 0)
        fit = Fit(str(node.view[0]), tuple(node.view[1:])) if node.view else Fit.fit()
        try:
            item = writer.add_outline_item(
                title=node.title, page_number=page, parent=parent, fit=fit, is_open=False
            )
        except Exception:  # a view pypdf cannot express falls back to the whole page
            item = writer.add_outline_item(
                title=node.title, page_number=page, parent=parent, is_open=False
            )
        _add_nodes(writer, item, node.children, base)


def drop_named_destinations(writer: PdfWriter) -> None:
    """The copied links are explicit now; names left behind could only point into the wrong file."""
    root = writer.root_object
    root.pop("/Dests", None)
    names = root.get("/Names")
    if names is not None and isinstance(names.get_object(), DictionaryObject):
        names.get_object().pop("/Dests", None)


def form_field_count(writer: PdfWriter) -> int:
    form = writer.root_object.get("/AcroForm")
    fields = form.get_object().get("/Fields") if form is not None else None
    return len(fields.get_object()) if fields is not None else 0


def rename_clashing_fields(writer: PdfWriter, start: int, number: int) -> None:
    """Give the form fields added since `start` names no earlier field has.

    Two attachments made from the same form (two filled-in applications) carry fields of the
    same name; a viewer takes same-named fields for one field and may show one value in both.
    A clashing top-level field of attachment `number` becomes "name [number]".
    """
    form = writer.root_object.get("/AcroForm")
    if form is None or "/Fields" not in form.get_object():
        return
    fields = form.get_object()["/Fields"].get_object()
    taken = {str(f.get_object().get("/T")) for f in fields[:start] if "/T" in f.get_object()}
    for ref in fields[start:]:
        field_dict = ref.get_object()
        name = field_dict.get("/T")
        if name is None or str(name) not in taken:
            taken.add(str(name))
            continue
        candidate, n = f"{name} [{number}]", 2
        while candidate in taken:
            candidate, n = f"{name} [{number}-{n}]", n + 1
        field_dict[NameObject("/T")] = TextStringObject(candidate)
        taken.add(candidate)
