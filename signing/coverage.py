"""Who covers what in a signed file: each revision's changes are vouched for by the first
signature or document timestamp whose signed revision includes them, and what follows the last
one is signed by nobody (validation data and the writer's date stamps excepted)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import SuspiciousModification

from .annotation_policy import Change, changes_since
from .diffpolicy import TRAILING_POLICY, revision_note
from .verification_report import SignatureReport, join_problems, who

MAX_DESCRIBED_REVISIONS = 200
# pyHanko compares a signed revision with each later one in full, so the work grows with the
# square of what follows: a record has one revision per action and two per renewal, far fewer
MAX_REVIEWED_REVISIONS = 50


def coverage(reader: PdfFileReader, reports: list[SignatureReport]) -> list[str]:
    """Who covers what: each revision's changes are vouched for by the first signature (or
    document timestamp) whose signed revision includes it. Fills each report's ``covers`` and
    names the covering signer in its ``changes``; returns what no signature covers, after
    the last one (empty when only validation data follows it).

    A signature followed by a change nobody signed is not valid: it never saw that change."""
    signed = [r.revision for r in reports if r.revision is not None]
    if not signed:
        return []
    last = max(signed)
    # a file of thousands of revisions must not take minutes: the latest ones are described
    total = reader.xrefs.total_revisions
    history = dict(changes_since(reader, max(0, total - 1 - MAX_DESCRIBED_REVISIONS)))

    def coverer(revision: int) -> SignatureReport | None:
        found = [r for r in reports if r.revision is not None and r.revision >= revision]
        return min(found, key=lambda r: r.revision or 0) if found else None

    def shown(change: Change) -> bool:  # what a reader of the pages sees
        return change.visible and change.what not in ("unreadable", "metadata")

    for report in reports:
        if report.revision is None:
            continue
        earlier = [
            r.revision for r in reports if r.revision is not None and r.revision < report.revision
        ]
        since = max(earlier) if earlier else 0
        report.covers = [
            revision_note(rev, c)
            for rev in range(since + 1, report.revision + 1)
            for c in history.get(rev, [])
            if shown(c) and not (c.what == "sig_field" and c.name == report.field_name)
        ]
        if report.modification == "annotations" and not report.changes:
            notes = []
            for rev in range(report.revision + 1, reader.xrefs.total_revisions):
                by = coverer(rev)
                for c in history.get(rev, []):
                    if not shown(c):
                        continue
                    if by is None:
                        notes.append(
                            _("%(change)s (signed by nobody)") % {"change": revision_note(rev, c)}
                        )
                    else:
                        notes.append(
                            _("%(change)s (covered by %(signer)s, %(field)s)")
                            % {
                                "change": revision_note(rev, c),
                                "signer": who(by),
                                "field": by.field_name,
                            }
                        )
            report.changes = notes

    unsigned = [
        revision_note(rev, c)
        for rev in range(last + 1, reader.xrefs.total_revisions)
        for c in history.get(rev, [])
        if (c.visible or c.what == "metadata") and c.what != "unreadable"
    ]
    if last + 1 < reader.xrefs.total_revisions and not unsigned:
        # nothing we can name: validation data is fine, anything else is not
        try:
            verdict: object = (
                TRAILING_POLICY.review_file(reader, last)
                if total - 1 - last <= MAX_REVIEWED_REVISIONS
                else SuspiciousModification("too many revisions to compare")
            )
        except Exception as e:
            verdict = SuspiciousModification(str(e))
        if isinstance(verdict, SuspiciousModification):
            unsigned = [
                _("revision %(revision)s: %(change)s")
                % {"revision": last + 1, "change": _("changes other than validation data")}
            ]
    if unsigned:
        for report in reports:
            if report.modification == "other":
                continue  # its own problem already names the change
            report.valid = False
            extra = _("changed after signing by a revision nobody signed")
            report.problem = join_problems([p for p in (report.problem, extra) if p])
    return unsigned
