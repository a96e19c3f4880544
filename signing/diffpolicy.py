"""The difference policy of signed records, and what changed, in words.

The rules themselves are in :mod:`signing.annotation_policy` (pyHanko only, so that the
evidence package carries them to auditors as they are); this module puts its
:class:`~signing.annotation_policy.Change` records into the active language (gettext; Japanese
unless the caller activated another).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from pyhanko.pdf_utils.reader import PdfFileReader

from .annotation_policy import (
    ACTION_KEYS,
    ANNOTATION_DIFF_POLICY,
    MARKUP_SUBTYPES,
    TRAILING_POLICY,
    Change,
    changes_since,
)

__all__ = [
    "ACTION_KEYS",
    "ANNOTATION_DIFF_POLICY",
    "MARKUP_SUBTYPES",
    "TRAILING_POLICY",
    "describe",
    "describe_changes",
]


def _list(items: Iterable[object]) -> str:
    return pgettext("list separator", ", ").join(str(i) for i in items)


def describe(change: Change) -> str:
    """One change in words."""
    where = {
        "page": change.page,
        "subtype": change.subtype,
        "name": change.name,
        "pages": _list(change.pages_list),
    }
    texts = {
        "pages_added": lambda: _("page(s) added: %(pages)s") % where,
        "pages_removed": lambda: _("page(s) removed: %(pages)s") % where,
        "pages_reordered": lambda: _("pages reordered"),
        "content": lambda: _("content of page %(page)s changed") % where,
        "page_entries": lambda: (
            _("page %(page)s entries changed: %(keys)s") % {**where, "keys": change.name}
        ),
        "annotations_removed": lambda: _("annotations removed from page %(page)s") % where,
        "annotation_action": lambda: (
            _("annotation %(subtype)s with an action added on page %(page)s") % where
        ),
        "markup": lambda: _("markup annotation %(subtype)s added on page %(page)s") % where,
        "annotation": lambda: _("annotation %(subtype)s added on page %(page)s") % where,
        "sig_field": lambda: (
            _("signature field %(name)s added, with an appearance on page %(page)s") % where
            if change.page
            else _("signature field %(name)s added") % where
        ),
        "sig_field_empty": lambda: (
            _("empty signature field %(name)s added, with an appearance on page %(page)s") % where
        ),
        "field_added": lambda: (
            _("form field %(name)s added, with an appearance on page %(page)s") % where
            if change.page
            else _("form field %(name)s added") % where
        ),
        "field_value": lambda: _("form field %(name)s value changed") % where,
        "field_removed": lambda: _("form field %(name)s removed") % where,
        "catalog": lambda: _("document catalog %(name)s changed") % where,
        "metadata": lambda: (
            _("document information (%(name)s) changed") % where
            if change.name == "/Info"
            else _("XMP metadata changed")
        ),
        "unreadable": lambda: _("could not be compared (%(name)s)") % where,
    }
    text = texts.get(change.what)
    return text() if text else change.what


def revision_note(revision: int, change: Change) -> str:
    return _("revision %(revision)s: %(change)s") % {
        "revision": revision,
        "change": describe(change),
    }


def describe_changes(reader: PdfFileReader, since_revision: int, limit: int = 50) -> list[str]:
    """Plain descriptions of what each revision after ``since_revision`` changed (best effort,
    for reports; the judgment itself is the policy's), in the active language."""
    return [
        revision_note(rev, change)
        for rev, changes in changes_since(reader, since_revision, limit)
        for change in changes
    ]
