"""The difference policy of signed records, and what each revision changed: pyHanko only.

This module needs nothing but pyHanko (no Django, no settings), because the evidence package
carries it, renamed ``record_policy.py``, beside its checker ``verify_record.py``
(`signing.offline_check`): an auditor gets the very rules the system judged the record by.
:mod:`signing.diffpolicy` puts the changes into words in the active language.

pyHanko's default difference analysis treats any comment added after a signature as an
invalidating change (pyHanko issue #209). Approvers here highlight and comment between
signatures, so :data:`ANNOTATION_DIFF_POLICY` accepts revisions that only

* add markup annotations (:data:`MARKUP_SUBTYPES`: Highlight, Text, FreeText, Ink, Square, …)
  as new objects, with their appearance streams, to the ``/Annots`` of existing pages, without
  actions (``/A``, ``/AA``) — modification level ANNOTATIONS;
* add signature fields with their widgets and fill them: ANNOTATIONS when the widget paints
  something (a seal is a visible change of the page), LTA_UPDATES when it is invisible;
* add DSS data and document timestamps (PAdES LTV) — LTA_UPDATES;

and rejects everything else: content streams, pages added or removed, other page entries,
actions, form field values, deleted annotations, freed objects.

Accepting a mark is not the end of it: a mark (or a seal) is acceptable only when a later
signature covers it. A revision after the last signature or document timestamp is signed by
nobody, and :data:`TRAILING_POLICY` accepts there only what changes no page, field or metadata
(validation data). :func:`revision_changes` names what a revision added, for the reports.
"""

from __future__ import annotations

import re
import weakref
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from pyhanko.pdf_utils import generic, misc
from pyhanko.pdf_utils.reader import HistoricalResolver, PdfFileReader, RawPdfPath
from pyhanko.sign.diff_analysis import (
    CatalogModificationRule,
    DocInfoRule,
    DSSCompareRule,
    FormUpdatingRule,
    MetadataUpdateRule,
    ModificationLevel,
    ObjectStreamRule,
    QualifiedWhitelistRule,
    ReferenceUpdate,
    SigFieldCreationRule,
    SigFieldModificationRule,
    StandardDiffPolicy,
    SuspiciousModification,
    XrefStreamRule,
)
from pyhanko.sign.diff_analysis.commons import compare_dicts
from pyhanko.sign.diff_analysis.rules_api import RelativeContext

MARKUP_SUBTYPES = frozenset(
    {
        "/Text",
        "/FreeText",
        "/Line",
        "/Square",
        "/Circle",
        "/Polygon",
        "/PolyLine",
        "/Highlight",
        "/Underline",
        "/Squiggly",
        "/StrikeOut",
        "/Caret",
        "/Ink",
        "/Stamp",
        "/Popup",
    }
)
ACTION_KEYS = ("/A", "/AA")
# entries of an annotation that point at objects the annotation does not own
_FOREIGN_KEYS = frozenset({"/P", "/Parent", "/IRT", "/Popup"})
MAX_DEPTH = 32  # field trees and page trees can be circular


# --- reading pages and annotations ------------------------------------------------------------


def _refs(arr: generic.PdfObject) -> list[generic.Reference]:
    arr = arr.get_object()
    if not isinstance(arr, generic.ArrayObject):
        raise SuspiciousModification("/Annots is not an array")
    out = []
    for item in arr:
        if not isinstance(item, generic.IndirectObject):
            raise SuspiciousModification("/Annots holds a direct annotation")
        out.append(item.reference)
    return out


def annots(page: generic.DictionaryObject) -> tuple[set[generic.Reference], Any]:
    """The references in a page's ``/Annots``, and the reference of the array if indirect."""
    if "/Annots" not in page:
        return set(), None
    raw = page.raw_get("/Annots")
    ref = raw.reference if isinstance(raw, generic.IndirectObject) else None
    return set(_refs(raw)), ref


def _field_of(annot: generic.DictionaryObject) -> generic.DictionaryObject | None:
    """The terminal field a widget belongs to (itself when merged), or None."""
    node: Any = annot
    for _depth in range(MAX_DEPTH):
        if "/FT" in node:
            return node
        if "/Parent" not in node:
            return None
        node = node["/Parent"]
    return None


def is_sig_widget(annot: generic.DictionaryObject) -> bool:
    if annot.get("/Subtype") != "/Widget":
        return False
    found = _field_of(annot)
    return found is not None and found.get("/FT") == "/Sig"


def paints(annot: generic.DictionaryObject) -> bool:
    """Whether an annotation shows anything: an area, not hidden, and a normal appearance that
    draws something."""
    try:
        x1, y1, x2, y2 = (float(v) for v in annot["/Rect"])
    except (KeyError, TypeError, ValueError):
        return False
    if abs(x2 - x1) < 0.01 or abs(y2 - y1) < 0.01:
        return False
    flags = int(annot.get("/F", 0) or 0) if isinstance(annot.get("/F", 0), int) else 0
    if flags & 2 or flags & 32:  # Hidden, NoView
        return False
    try:
        normal = annot["/AP"]["/N"]
    except (KeyError, TypeError):
        return False
    normal = normal.get_object() if hasattr(normal, "get_object") else normal
    # a stream, or a dictionary of streams by appearance state (a stream is a dictionary too)
    streams = (
        normal.values()
        if isinstance(normal, generic.DictionaryObject)
        and not isinstance(normal, generic.StreamObject)
        else [normal]
    )
    for stream in streams:
        stream = stream.get_object() if hasattr(stream, "get_object") else stream
        if isinstance(stream, generic.StreamObject):
            try:
                if stream.data.strip():
                    return True
            except Exception:  # an undecodable stream: assume it draws
                return True
    return False


def pages(
    resolver: HistoricalResolver,
) -> Iterator[tuple[generic.Reference, generic.DictionaryObject]]:
    """Leaf pages in order, as (reference, dictionary) in this revision."""
    seen: set[generic.Reference] = set()

    def walk(node_ref: generic.IndirectObject, depth: int) -> Iterator[tuple[Any, Any]]:
        if node_ref.reference in seen or depth > MAX_DEPTH:
            raise misc.PdfReadError("circular page tree")
        seen.add(node_ref.reference)
        node = node_ref.get_object()
        if node.get("/Type") == "/Pages" or "/Kids" in node:
            for kid in node["/Kids"]:
                yield from walk(kid, depth + 1)
        else:
            yield node_ref.reference, node

    yield from walk(resolver.root.raw_get("/Pages"), 0)


# --- the difference policy ---------------------------------------------------------------------


class PageAnnotationRule(QualifiedWhitelistRule):
    """Approves page updates that only add annotations: markup (at ANNOTATIONS level) or
    widgets of signature fields (ANNOTATIONS if they paint something, else LTA_UPDATES; the
    fields themselves are vetted by the form rule). Anything else on a page is left
    unexplained, hence rejected."""

    def apply_qualified(
        self, old: HistoricalResolver, new: HistoricalResolver
    ) -> Iterable[tuple[ModificationLevel, ReferenceUpdate]]:
        old_pages = list(pages(old))
        new_pages = list(pages(new))
        if [r for r, _p in old_pages] != [r for r, _p in new_pages]:
            raise SuspiciousModification(
                f"page tree changed: {len(old_pages)} pages before, {len(new_pages)} after"
            )
        since = old.revision + 1
        for number, ((page_ref, old_page), (_ref, new_page)) in enumerate(
            zip(old_pages, new_pages, strict=True), start=1
        ):
            try:
                old_annots, _r = annots(old_page)
            except SuspiciousModification as e:  # pragma: no cover - malformed old revision
                raise misc.PdfReadError(str(e)) from e
            new_annots, new_annots_ref = annots(new_page)
            if old_annots == new_annots:
                continue
            if old_annots - new_annots:
                raise SuspiciousModification(f"annotations removed from page {number}")
            level = ModificationLevel.LTA_UPDATES
            approvals: list[tuple[ModificationLevel, ReferenceUpdate]] = []
            for ref in new_annots - old_annots:
                annot = new(ref)
                if not isinstance(annot, generic.DictionaryObject):
                    raise SuspiciousModification(f"annotation {ref} is not a dictionary")
                if is_sig_widget(annot):
                    # the form rule approves the field and its widget; a seal changes the page
                    if paints(annot):
                        level = ModificationLevel.ANNOTATIONS
                    continue
                subtype = annot.get("/Subtype")
                if subtype not in MARKUP_SUBTYPES:
                    raise SuspiciousModification(
                        f"annotation of type {subtype} added on page {number}"
                    )
                if any(k in annot for k in ACTION_KEYS):
                    raise SuspiciousModification(
                        f"annotation {subtype} with an action added on page {number}"
                    )
                if not old.is_ref_unassignable(ref):
                    raise SuspiciousModification(
                        f"annotation on page {number} reuses existing object {ref}"
                    )
                level = ModificationLevel.ANNOTATIONS
                approvals.append((level, ReferenceUpdate(ref)))
                for key in annot:
                    if key in _FOREIGN_KEYS:
                        continue
                    for dep in new.collect_dependencies(annot.raw_get(key), since_revision=since):
                        if not old.is_ref_unassignable(dep):
                            continue  # an overwritten old object needs its own justification
                        approvals.append((level, ReferenceUpdate(dep)))
            compare_dicts(old_page, new_page, frozenset({"/Annots"}))
            yield level, ReferenceUpdate(page_ref)
            if new_annots_ref is not None:
                yield (
                    level,
                    ReferenceUpdate(
                        new_annots_ref,
                        context_checked=RelativeContext(page_ref, RawPdfPath("/Annots")),
                    ),
                )
            yield from approvals


ANNOTATION_DIFF_POLICY = StandardDiffPolicy(
    global_rules=[
        CatalogModificationRule(),
        DocInfoRule().as_qualified(ModificationLevel.LTA_UPDATES),
        XrefStreamRule().as_qualified(ModificationLevel.LTA_UPDATES),
        ObjectStreamRule().as_qualified(ModificationLevel.LTA_UPDATES),
        DSSCompareRule().as_qualified(ModificationLevel.LTA_UPDATES),
        MetadataUpdateRule().as_qualified(ModificationLevel.LTA_UPDATES),
        PageAnnotationRule(),
    ],
    form_rule=FormUpdatingRule(
        field_rules=[
            SigFieldCreationRule(approve_widget_bindings=False),
            SigFieldModificationRule(),
            # no GenericFieldModificationRule: changing a form value after signing is rejected
        ],
    ),
)


class WriterStampsInMetadataRule(MetadataUpdateRule):
    """The XMP stream rewritten with nothing changed but the writer's stamps (modification
    date, producer): what pyHanko does to every revision it writes, the trailing DSS included."""

    def apply(self, old: HistoricalResolver, new: HistoricalResolver) -> Iterable[ReferenceUpdate]:
        if _metadata_changed(old, new):
            raise SuspiciousModification("XMP metadata changed after the last signature")
        yield from super().apply(old, new)


class WriterStampsInInfoRule(DocInfoRule):
    """The same for the /Info dictionary: only /ModDate and /Producer may differ."""

    def apply(self, old: HistoricalResolver, new: HistoricalResolver) -> Iterable[ReferenceUpdate]:
        if _info(old) != _info(new):
            raise SuspiciousModification("document information changed after the last signature")
        yield from super().apply(old, new)


# What may follow the last signature or document timestamp, signed by nobody: validation data
# (DSS), the file structure it needs and the writer's date stamps. No page, annotation, field or
# metadata a reader sees.
TRAILING_POLICY = StandardDiffPolicy(
    global_rules=[
        CatalogModificationRule(),
        XrefStreamRule().as_qualified(ModificationLevel.LTA_UPDATES),
        ObjectStreamRule().as_qualified(ModificationLevel.LTA_UPDATES),
        DSSCompareRule().as_qualified(ModificationLevel.LTA_UPDATES),
        WriterStampsInMetadataRule().as_qualified(ModificationLevel.LTA_UPDATES),
        WriterStampsInInfoRule().as_qualified(ModificationLevel.LTA_UPDATES),
    ],
    form_rule=None,
)


# --- what a revision changed -------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One thing a revision did, in data: the reports put it into words.

    ``what`` is one of: pages_added, pages_removed, pages_reordered, content (page), page_entries
    (page, name: the keys), annotations_removed (page), annotation_action (page, subtype),
    markup (page, subtype), annotation (page, subtype: not markup), sig_field (name; page when
    it paints, the seal), sig_field_empty (name, page: an unsigned field that paints),
    field_added (name; page when its widget paints), field_value (name), field_removed (name),
    metadata (name: /Info or /Metadata), catalog (name: the key)."""

    what: str
    page: int | None = None
    subtype: str | None = None
    name: str | None = None
    pages_list: tuple[int, ...] = ()

    @property
    def visible(self) -> bool:
        return self.what not in ("sig_field",) or self.page is not None


def _stream_bytes(obj: Any) -> bytes:
    obj = obj.get_object() if hasattr(obj, "get_object") else obj
    if isinstance(obj, generic.ArrayObject):
        return b"\n".join(_stream_bytes(x) for x in obj)
    if isinstance(obj, generic.StreamObject):
        return obj.encoded_data
    return b""


def fields(resolver: HistoricalResolver) -> dict[str, Any]:
    """Terminal form fields by full name."""
    out: dict[str, Any] = {}
    try:
        roots = resolver.root["/AcroForm"]["/Fields"]
    except (KeyError, TypeError):
        return out

    def walk(items: Any, prefix: str, depth: int) -> None:
        if depth > MAX_DEPTH:
            return
        for item in items:
            node = item.get_object()
            name = node.get("/T")
            full = f"{prefix}.{name}" if prefix and name else (name or prefix)
            if "/Kids" in node and any("/T" in k.get_object() for k in node["/Kids"]):
                walk(node["/Kids"], full, depth + 1)
            out[str(full)] = node

    walk(roots, "", 0)
    return out


def full_name(node: Any) -> str:
    """A field's (or a widget's) fully qualified name, from its /T and its parents'."""
    parts = []
    for _depth in range(MAX_DEPTH):
        if "/T" in node:
            parts.append(str(node["/T"]))
        if "/Parent" not in node:
            break
        node = node["/Parent"]
    return ".".join(reversed(parts))


def revision_changes(old: HistoricalResolver, new: HistoricalResolver) -> list[Change]:
    """What revision ``new`` changed relative to ``old`` (best effort, for reports; the
    judgment is the policies')."""
    out: list[Change] = []
    old_pages = list(pages(old))
    new_pages = list(pages(new))
    old_refs = [r for r, _p in old_pages]
    new_refs = [r for r, _p in new_pages]
    added = tuple(i + 1 for i, r in enumerate(new_refs) if r not in old_refs)
    removed = tuple(i + 1 for i, r in enumerate(old_refs) if r not in new_refs)
    if added:
        out.append(Change("pages_added", pages_list=added))
    if removed:
        out.append(Change("pages_removed", pages_list=removed))
    if not added and not removed and old_refs != new_refs:
        out.append(Change("pages_reordered"))
    old_by_ref = dict(old_pages)
    painted: dict[str, int] = {}  # field name → the page its new widget paints on
    for number, (ref, page) in enumerate(new_pages, start=1):
        before = old_by_ref.get(ref)
        if before is None:
            continue
        if _stream_bytes(before.raw_get("/Contents") if "/Contents" in before else None) != (
            _stream_bytes(page.raw_get("/Contents") if "/Contents" in page else None)
        ):
            out.append(Change("content", page=number))
        keys = sorted(
            k
            for k in set(before.keys()) | set(page.keys())
            if k not in ("/Annots", "/Contents")
            and (k not in before or k not in page or before.raw_get(k) != page.raw_get(k))
        )
        if keys:
            out.append(Change("page_entries", page=number, name=", ".join(keys)))
        old_a, _r = annots(before) if "/Annots" in before else (set(), None)
        try:
            new_a, _r = annots(page)
        except SuspiciousModification:
            new_a = set()
        if old_a - new_a:
            out.append(Change("annotations_removed", page=number))
        for a in sorted(new_a - old_a, key=lambda r: (r.idnum, r.generation)):
            annot = new(a)
            if not isinstance(annot, generic.DictionaryObject):
                continue
            subtype = str(annot.get("/Subtype"))
            if any(k in annot for k in ACTION_KEYS):
                out.append(Change("annotation_action", page=number, subtype=subtype))
            elif subtype in MARKUP_SUBTYPES:
                out.append(Change("markup", page=number, subtype=subtype))
            elif subtype != "/Widget" or _field_of(annot) is None:
                out.append(Change("annotation", page=number, subtype=subtype))
            elif paints(annot):
                painted.setdefault(full_name(annot), number)
    old_fields, new_fields = fields(old), fields(new)
    for name, node in new_fields.items():
        shown_on = painted.get(name)
        if node.get("/FT") == "/Sig":
            if name not in old_fields:
                empty = node.get("/V") is None and shown_on is not None
                out.append(
                    Change("sig_field_empty" if empty else "sig_field", page=shown_on, name=name)
                )
            continue
        if name not in old_fields:
            out.append(Change("field_added", page=shown_on, name=name))
        elif old_fields[name].get("/V") != node.get("/V"):
            out.append(Change("field_value", page=shown_on, name=name))
    for name in old_fields.keys() - new_fields.keys():
        out.append(Change("field_removed", name=name))
    for key in ("/OpenAction", "/AA", "/Names"):
        if old.root.get(key) != new.root.get(key):
            out.append(Change("catalog", name=key))
    if _metadata_changed(old, new):
        out.append(Change("metadata", name="/Metadata"))
    if _info(old) != _info(new):
        out.append(Change("metadata", name="/Info"))
    return out


# What a PDF writer stamps into the metadata of every revision it writes, whatever it changed:
# pyHanko sets the modification date (XMP and /Info) and the producer on each write, also on the
# DSS it adds after a document timestamp. When that revision falls in the next second, only these
# differ, and they say nothing a reader of the document relies on; a title, subject, author or
# keyword changed after the last signature is still a change.
_WRITER_STAMPS = rb"(?:ModifyDate|MetadataDate|Producer|xmptk)"
_XMP_STAMP_ATTRIBUTE = re.compile(
    rb"\s[\w.-]+:" + _WRITER_STAMPS + rb"""\s*=\s*(?:"[^"]*"|'[^']*')"""
)
_XMP_STAMP_ELEMENT = re.compile(
    rb"<([\w.-]+:" + _WRITER_STAMPS + rb")\b[^>]*?(?:/>|>[^<]*</\1\s*>)"
)
_INFO_STAMPS = frozenset({"/ModDate", "/Producer"})
# XMP is a few kilobytes; a larger stream is compared as it is stored, not inflated.
_XMP_LIMIT = 1 << 20


def _metadata_changed(old: HistoricalResolver, new: HistoricalResolver) -> bool:
    before, after = _metadata(old), _metadata(new)
    if before is None or after is None:
        return before is not after
    if _stored(before) == _stored(after):
        return False
    readable = _without_stamps(before), _without_stamps(after)
    return None in readable or readable[0] != readable[1]


def _stored(stream: Any) -> Any:
    return stream.encoded_data if isinstance(stream, generic.StreamObject) else stream


def _metadata(resolver: HistoricalResolver) -> Any:
    """The XMP stream as stored (None without one), for a cheap first comparison."""
    try:
        if "/Metadata" not in resolver.root:
            return None
        stream = resolver.root.raw_get("/Metadata").get_object()
        return stream if isinstance(stream, generic.StreamObject) else b"?"
    except Exception:
        return b"?"


def _without_stamps(stream: Any) -> bytes | None:
    """The XMP text without the writer's stamps; None when it cannot be read within limits
    (then any difference counts)."""
    if not isinstance(stream, generic.StreamObject):
        return None
    filters = stream.get("/Filter")
    names = [str(f) for f in filters] if isinstance(filters, generic.ArrayObject) else [filters]
    raw = stream.encoded_data
    if names in ([None], []):
        xmp = raw
    elif names in (["/FlateDecode"], ["/Fl"]) and "/DecodeParms" not in stream:
        inflater = zlib.decompressobj()
        try:
            xmp = inflater.decompress(raw, _XMP_LIMIT)
        except zlib.error:
            return None
        if inflater.unconsumed_tail:
            return None
    else:
        return None
    if len(xmp) > _XMP_LIMIT:
        return None
    return _XMP_STAMP_ELEMENT.sub(b"", _XMP_STAMP_ATTRIBUTE.sub(b"", xmp))


def _info(resolver: HistoricalResolver) -> Any:
    try:
        info = resolver.trailer_view.get("/Info")
        if info is None:
            return None
        return {k: v for k, v in dict(info.get_object()).items() if k not in _INFO_STAMPS}
    except Exception:
        return None


def changes_since(
    reader: PdfFileReader, revision: int, limit: int = 200
) -> list[tuple[int, list[Change]]]:
    """(revision, changes) for each revision after ``revision`` (the first ``limit`` of them);
    a revision that cannot be compared gets ``[Change("unreadable", name=the error)]``."""
    out: list[tuple[int, list[Change]]] = []
    # each revision is compared once per reader: every signature's report asks again
    known = _described.setdefault(reader, {})
    for rev in range(revision + 1, min(reader.xrefs.total_revisions, revision + 1 + limit)):
        if rev not in known:
            try:
                old = reader.get_historical_resolver(rev - 1)
                new = reader.get_historical_resolver(rev)
                known[rev] = revision_changes(old, new)
            except Exception as e:  # a description must never break a report
                known[rev] = [Change("unreadable", name=f"{type(e).__name__}: {e}")]
        out.append((rev, known[rev]))
    return out


_described: weakref.WeakKeyDictionary[PdfFileReader, dict[int, list[Change]]] = (
    weakref.WeakKeyDictionary()
)
