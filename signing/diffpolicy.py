"""The difference policy for signed records: later markup annotations are fine, nothing else.

pyHanko's default difference analysis treats any comment added after a signature as an
invalidating change (pyHanko issue #209). Approvers here highlight and comment between
signatures, so :data:`ANNOTATION_DIFF_POLICY` accepts revisions that only

* add markup annotations (:data:`MARKUP_SUBTYPES`: Highlight, Text, FreeText, Ink, Square, …)
  as new objects, with their appearance streams, to the ``/Annots`` of existing pages, without
  actions (``/A``, ``/AA``) — reported as modification ``"annotations"``;
* add signature fields with their widgets and appearances (later approvers), fill them, and
  add DSS data and document timestamps (PAdES LTV) — reported as ``"none"``;

and rejects everything else: content streams, pages added or removed, other page entries,
actions, form field values, deleted annotations, freed objects — reported as ``"other"`` with a
description of what changed (:func:`describe_changes`).

It is pyHanko's :class:`StandardDiffPolicy` with its standard rules, minus the rule that
accepts form filling, with its widget-binding check replaced by :class:`PageAnnotationRule`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import pgettext
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


# --- the difference policy ---------------------------------------------------------------------


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


def _annots(page: generic.DictionaryObject) -> tuple[set[generic.Reference], Any]:
    if "/Annots" not in page:
        return set(), None
    raw = page.raw_get("/Annots")
    ref = raw.reference if isinstance(raw, generic.IndirectObject) else None
    return set(_refs(raw)), ref


def _is_sig_widget(annot: generic.DictionaryObject) -> bool:
    if annot.get("/Subtype") != "/Widget":
        return False
    node: Any = annot
    for _depth in range(32):
        if node.get("/FT") == "/Sig":
            return True
        if "/Parent" not in node:
            return False
        node = node["/Parent"]
    return False


def _pages(
    resolver: HistoricalResolver,
) -> Iterator[tuple[generic.Reference, generic.DictionaryObject]]:
    """Leaf pages in order, as (reference, dictionary) in this revision."""
    seen: set[generic.Reference] = set()

    def walk(node_ref: generic.IndirectObject) -> Iterator[tuple[Any, Any]]:
        if node_ref.reference in seen:
            raise misc.PdfReadError("circular page tree")
        seen.add(node_ref.reference)
        node = node_ref.get_object()
        if node.get("/Type") == "/Pages" or "/Kids" in node:
            for kid in node["/Kids"]:
                yield from walk(kid)
        else:
            yield node_ref.reference, node

    yield from walk(resolver.root.raw_get("/Pages"))


class PageAnnotationRule(QualifiedWhitelistRule):
    """Approves page updates that only add annotations: markup (at ANNOTATIONS level) or
    widgets of signature fields (at LTA_UPDATES level, the fields themselves being vetted by
    the form rule). Anything else on a page is left unexplained, hence rejected."""

    def apply_qualified(
        self, old: HistoricalResolver, new: HistoricalResolver
    ) -> Iterable[tuple[ModificationLevel, ReferenceUpdate]]:
        old_pages = list(_pages(old))
        new_pages = list(_pages(new))
        if [r for r, _p in old_pages] != [r for r, _p in new_pages]:
            raise SuspiciousModification(
                f"page tree changed: {len(old_pages)} pages before, {len(new_pages)} after"
            )
        since = old.revision + 1
        for number, ((page_ref, old_page), (_ref, new_page)) in enumerate(
            zip(old_pages, new_pages, strict=True), start=1
        ):
            try:
                old_annots, _r = _annots(old_page)
            except SuspiciousModification as e:  # pragma: no cover - malformed old revision
                raise misc.PdfReadError(str(e)) from e
            new_annots, new_annots_ref = _annots(new_page)
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
                if _is_sig_widget(annot):
                    continue  # the form rule approves the field and its widget
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


# --- describing what changed -------------------------------------------------------------------


def _stream_bytes(obj: Any) -> bytes:
    obj = obj.get_object() if hasattr(obj, "get_object") else obj
    if isinstance(obj, generic.ArrayObject):
        return b"\n".join(_stream_bytes(x) for x in obj)
    if isinstance(obj, generic.StreamObject):
        return obj.encoded_data
    return b""


def _fields(resolver: HistoricalResolver) -> dict[str, Any]:
    out: dict[str, Any] = {}
    try:
        roots = resolver.root["/AcroForm"]["/Fields"]
    except (KeyError, TypeError):
        return out

    def walk(items: Any, prefix: str, depth: int) -> None:
        if depth > 32:
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


def _list(items: Iterable[object]) -> str:
    return pgettext("list separator", ", ").join(str(i) for i in items)


def describe_changes(reader: PdfFileReader, since_revision: int) -> list[str]:
    """Plain descriptions of what each revision after ``since_revision`` changed (best effort,
    for reports; the judgment itself is the policy's), in the active language."""
    notes: list[str] = []
    total = reader.xrefs.total_revisions
    for rev in range(since_revision + 1, total):
        try:
            old = reader.get_historical_resolver(rev - 1)
            new = reader.get_historical_resolver(rev)
            notes.extend(
                _("revision %(revision)s: %(change)s") % {"revision": rev, "change": n}
                for n in _diff_revisions(old, new)
            )
        except Exception as e:  # a description must never break a report
            notes.append(
                _("revision %(revision)s: could not be compared (%(error)s)")
                % {"revision": rev, "error": e}
            )
    return notes


def _diff_revisions(old: HistoricalResolver, new: HistoricalResolver) -> list[str]:
    notes: list[str] = []
    old_pages = list(_pages(old))
    new_pages = list(_pages(new))
    old_refs = [r for r, _p in old_pages]
    new_refs = [r for r, _p in new_pages]
    added = [i + 1 for i, r in enumerate(new_refs) if r not in old_refs]
    removed = [i + 1 for i, r in enumerate(old_refs) if r not in new_refs]
    if added:
        notes.append(_("page(s) added: %(pages)s") % {"pages": _list(added)})
    if removed:
        notes.append(_("page(s) removed: %(pages)s") % {"pages": _list(removed)})
    if not added and not removed and old_refs != new_refs:
        notes.append(_("pages reordered"))
    old_by_ref = dict(old_pages)
    for number, (ref, page) in enumerate(new_pages, start=1):
        before = old_by_ref.get(ref)
        if before is None:
            continue
        if _stream_bytes(before.raw_get("/Contents") if "/Contents" in before else None) != (
            _stream_bytes(page.raw_get("/Contents") if "/Contents" in page else None)
        ):
            notes.append(_("content of page %(page)s changed") % {"page": number})
        keys = {
            k
            for k in set(before.keys()) | set(page.keys())
            if k not in ("/Annots", "/Contents")
            and (k not in before or k not in page or before.raw_get(k) != page.raw_get(k))
        }
        if keys:
            notes.append(
                _("page %(page)s entries changed: %(keys)s")
                % {"page": number, "keys": _list(sorted(keys))}
            )
        old_a, _r = _annots(before) if "/Annots" in before else (set(), None)
        try:
            new_a, _r = _annots(page)
        except SuspiciousModification:
            new_a = set()
        if old_a - new_a:
            notes.append(_("annotations removed from page %(page)s") % {"page": number})
        for a in new_a - old_a:
            annot = new(a)
            where = {"subtype": annot.get("/Subtype"), "page": number}
            if any(k in annot for k in ACTION_KEYS):
                notes.append(
                    _("annotation %(subtype)s with an action added on page %(page)s") % where
                )
            elif where["subtype"] in MARKUP_SUBTYPES:
                notes.append(_("markup annotation %(subtype)s added on page %(page)s") % where)
            elif not _is_sig_widget(annot):
                notes.append(_("annotation %(subtype)s added on page %(page)s") % where)
    old_fields, new_fields = _fields(old), _fields(new)
    for name, node in new_fields.items():
        if node.get("/FT") == "/Sig":
            if name not in old_fields:
                notes.append(_("signature field %(name)s added") % {"name": name})
            continue
        if name not in old_fields:
            notes.append(_("form field %(name)s added") % {"name": name})
        elif old_fields[name].get("/V") != node.get("/V"):
            notes.append(_("form field %(name)s value changed") % {"name": name})
    for name in old_fields.keys() - new_fields.keys():
        notes.append(_("form field %(name)s removed") % {"name": name})
    for key in ("/OpenAction", "/AA", "/Names"):
        if old.root.get(key) != new.root.get(key):
            notes.append(_("document catalog %(key)s changed") % {"key": key})
    return notes
