"""Active content is removed from the pages copied into a record: an auditor's file runs no code.

pypdf copies pages, not catalogs, so an attachment's /OpenAction, document JavaScript (/Names
/JavaScript) and catalog /AA never arrive. What can arrive with a page is removed here: page and
annotation additional-actions (/AA), annotation and field actions other than plain navigation,
URIs other than http, https and mailto (`safe_uri`, the one normaliser of links: whitespace and
control characters anywhere in a URI are dropped before its scheme is read, as browsers do, so
`java\tscript:` is `javascript:`), multimedia annotations (which carry players and scripts) and
the XFA forms of an /AcroForm. Appearance, annotations and form fields stay as they were. Files
carried in FileAttachment annotations are handled by `documents.record.carried`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    PdfObject,
    TextStringObject,
)

# Navigation inside the record, a web link the reader chooses to follow, a viewer command
# (next page, print …), an article thread. Everything else runs code, submits data, opens files
# or plays media.
SAFE_ACTIONS = frozenset({"/GoTo", "/URI", "/Named", "/Thread"})
ACTIVE_ANNOTATIONS = frozenset({"/Screen", "/Movie", "/Sound", "/RichMedia", "/3D"})
_MAX_PARENT_DEPTH = 64


SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
# What browsers and PDF viewers skip inside a URL: ASCII whitespace and C0 controls anywhere, and
# the invisible format characters (zero-width space and joiners, bidi marks) some of them drop.
_IGNORED = re.compile(r"[\x00-\x20\x7f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")


def safe_uri(text: str) -> str | None:
    """The URI as it will be kept, if it is an absolute http, https or mailto URI; else None.

    Every link of the record goes through here (link annotations, their /Next chains).
    Relative URIs are refused too: a viewer resolves them against a /Base we do not control.
    """
    cleaned = _IGNORED.sub("", text)
    match = _SCHEME.match(cleaned)
    if match is None or match.group(1).lower() not in SAFE_SCHEMES:
        return None
    return cleaned


def safe_action(action: PdfObject | None) -> DictionaryObject | None:
    """The action if it is safe (its /Next chain pruned to the safe ones), else None."""
    if action is None:
        return None
    action = action.get_object()
    if not isinstance(action, DictionaryObject):
        return None
    if action.get("/S") not in SAFE_ACTIONS:
        return None
    if action.get("/S") == "/URI":
        uri = action.get("/URI")
        text = uri.get_object() if uri is not None else ""
        text = text.decode("latin-1", "replace") if isinstance(text, bytes) else str(text)
        uri_kept = safe_uri(text)
        if uri_kept is None:
            return None
        # The link points where the check looked, not at a spelling a viewer reads otherwise.
        action[NameObject("/URI")] = TextStringObject(uri_kept)
    if "/Next" in action:
        nexts = action["/Next"].get_object()
        items = list(nexts) if isinstance(nexts, ArrayObject) else [nexts]
        kept = [item for item in items if safe_action(item) is not None]
        if kept:
            action[NameObject("/Next")] = ArrayObject(kept) if len(kept) > 1 else kept[0]
        else:
            del action["/Next"]
    return action


def _clean_dict(obj: DictionaryObject) -> None:
    obj.pop("/AA", None)
    if "/A" in obj and safe_action(obj["/A"]) is None:
        del obj["/A"]


def sanitize_pages(pages: Iterable[DictionaryObject]) -> int:
    """Strip active content from these pages; the number of annotations dropped."""
    dropped = 0
    seen_fields: set[int] = set()
    for page in pages:
        page.pop("/AA", None)
        annots = page.get("/Annots")
        if annots is None:
            continue
        annots = annots.get_object()
        if not isinstance(annots, ArrayObject):
            del page["/Annots"]
            continue
        kept = ArrayObject()
        for ref in annots:
            annot = ref.get_object()
            if not isinstance(annot, DictionaryObject):
                continue
            if annot.get("/Subtype") in ACTIVE_ANNOTATIONS:
                dropped += 1
                continue
            _clean_dict(annot)
            _clean_parents(annot, seen_fields)
            kept.append(ref)
        page[NameObject("/Annots")] = kept
    return dropped


def _clean_parents(annot: DictionaryObject, seen: set[int]) -> None:
    """Form fields hold their scripts (format, keystroke, validate, calculate) in /AA."""
    parent = annot.get("/Parent")
    for _ in range(_MAX_PARENT_DEPTH):
        if not isinstance(parent, IndirectObject) or parent.idnum in seen:
            return
        seen.add(parent.idnum)
        field = parent.get_object()
        if not isinstance(field, DictionaryObject):
            return
        _clean_dict(field)
        parent = field.get("/Parent")


def sanitize_catalog(writer: PdfWriter) -> None:
    """Whatever the merge put into the catalog that could run: XFA scripts, calculation order."""
    root = writer.root_object
    # /URI holds the /Base that relative links resolve against.
    for key in ("/OpenAction", "/AA", "/URI"):
        root.pop(key, None)
    names = root.get("/Names")
    if names is not None and isinstance(names.get_object(), DictionaryObject):
        names.get_object().pop("/JavaScript", None)
    form = root.get("/AcroForm")
    if form is not None and isinstance(form.get_object(), DictionaryObject):
        form = form.get_object()
        form.pop("/XFA", None)
        # /CO lists fields whose /AA /C script computes their value; the scripts are gone.
        form.pop("/CO", None)
