"""Every action on a task seals the record: the actor's marks, then their signature.

The approval actions (workflow.services) call :func:`seal_action` inside their transaction, after
the task is closed and the flow has moved, so the decider's signature covers the document number
stamped on the cover, and the decision adds validation data and a document timestamp (B-LTA).

The signature is made with the key of the actor's post (職責): CN 「総務課長」, OU the section.
A deputy deciding for an absent superior (代決) signs with their own post's key; the reason says
for whom, 「代決 総務課長補佐（総務課長）」. The red seal goes into the stamp box the cover sheet
drew for the slot; actions without a box of their own (供覧, 後閲, 差戻し, 否決, a second
round's approval of a box already sealed) sign invisibly.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import status

from api.errors import ApiError
from documents.models import Document, DocumentVersion, RecordRevision, RevisionKind, Status
from documents.record.cover import japanese_date
from documents.records import ensure_record
from documents.sealing import RecordNotReady, SealRequest, revision_summary, seal
from org.models import Post, User
from org.services import current_posts
from security.assurance import authentication
from signing.markup import Mark, MarkupFailed
from signing.pki import KeyRevoked, PKIError
from signing.positions import position_key_id
from signing.signer import Box, SigningFailed
from signing.tsa import TimestampUnavailable
from workflow import marks, progression
from workflow.cover import stamp_key
from workflow.models import Annotation, Route, Slot, SlotKind, StageRole

logger = logging.getLogger(__name__)

VERBS = {
    "approve": "承認",
    "decide": "決裁",
    "consult": "合議",
    "circulate": "供覧",
    "post_review": "後閲",
    "send_back": "差戻し",
    "reject": "否決",
}
BOXED = {"approve", "decide", "consult"}
NUMBER_MARK_RECT = (400.0, 797.0, 585.0, 835.0)  # top right of the cover, beside the title


@contextmanager
def _refusing_on_failure() -> Iterator[None]:
    """A seal that cannot be made fails the whole action: the caller's transaction rolls back,
    the task stays open and the previous signed record stays current."""
    try:
        yield
    except TimestampUnavailable as exc:
        logger.warning("timestamp unavailable: %s", exc)
        raise ApiError(
            "timestamp_unavailable",
            _(
                "The time-stamping service did not answer, so nothing was signed or recorded. "
                "Try again in a few minutes."
            ),
            status.HTTP_503_SERVICE_UNAVAILABLE,
        ) from exc
    except KeyRevoked as exc:
        logger.warning("revoked key: %s", exc)
        raise ApiError(
            "key_revoked",
            _(
                "The signing certificate of your post has been revoked (the post was abolished "
                "or reorganised), so nothing was signed or recorded. Ask the administrator to "
                "issue the post a new certificate."
            ),
            status.HTTP_409_CONFLICT,
        ) from exc
    except (SigningFailed, PKIError, MarkupFailed, RecordNotReady) as exc:
        logger.exception("the record could not be sealed")
        raise ApiError(
            "signing_failed",
            _(
                "The record could not be signed, so nothing was recorded. "
                "Try again; if it happens again, tell the administrator."
            ),
            status.HTTP_503_SERVICE_UNAVAILABLE,
        ) from exc


def enabled() -> bool:
    # The workflow benchmark measures unsigned steps; nothing else turns this off.
    return bool(getattr(settings, "SIGN_APPROVALS", True))


def title(department_name: str, position_name: str) -> str:
    """総務課 + 課長 → 総務課長; 総務部 + 部長 → 総務部長; 市長室 + 副市長 → 市長室副市長."""
    unit = department_name.split()[-1] if department_name.split() else ""
    if unit and position_name and unit[-1] == position_name[0]:
        return unit + position_name[1:]
    return unit + position_name


def _post_for(actor: User, department_name: str, position_name: str = "") -> Post | None:
    """The post `actor` acts from: the one the slot was resolved from, else one in the same
    department (a deputy's own post), else their primary post."""
    # Three levels of parents with the post: full_name walks them (組織 → 部 → 課 is typical).
    posts = list(
        current_posts()
        .filter(user=actor)
        .select_related("department__parent__parent__parent", "position")
    )

    def score(post: Post) -> tuple[bool, bool, bool]:
        same_department = post.department.full_name == department_name
        same_position = bool(position_name) and post.position.name == position_name
        return (same_department and same_position, same_department, post.is_primary)

    return max(posts, key=score) if posts else None


def _signer(actor: User, department_name: str, position_name: str = "") -> tuple[str, str, str]:
    """(key id, CN, OU) of the certificate `actor` signs with."""
    post = _post_for(actor, department_name, position_name)
    if post is None:
        # Someone without a post (an added reader from outside the chart) signs as a person.
        return f"person-{actor.pk}", str(actor), ""
    return (
        f"post-{post.department_id}-{post.position_id}",
        title(post.department.full_name, post.position.name),
        post.department.full_name,
    )


def _slot_signer(actor: User, slot: Slot) -> tuple[str, str, str]:
    """(key id, CN, OU) for `actor`'s action on `slot`: the key of the post the action is taken
    for. Whoever acts for the slot's post (its holder, the previous holder during a handover, a
    person an administrator reassigned it to) signs with that post's key; a deputy (代決) signs
    with their own post's. A personal key never signs an approval: resolution refuses a blocking
    slot without a post, and a deputy without a post of their own signs with the slot's."""
    if (
        slot.post_department_id is not None
        and slot.post_position_id is not None
        and (slot.on_behalf_of_id is None or _post_for(actor, slot.department_name) is None)
    ):
        return (
            position_key_id(slot.post_department_id, slot.post_position_id),
            title(slot.department_name, slot.position_name),
            slot.department_name,
        )
    deputy = slot.on_behalf_of_id is not None
    return _signer(actor, slot.department_name, "" if deputy else slot.position_name)


def _verb(slot: Slot, action: str, decided: bool) -> str:
    if action in ("send_back", "reject"):
        return action
    if slot.kind == SlotKind.CIRCULATE:
        return "circulate"
    if slot.kind == SlotKind.POST_REVIEW:
        return "post_review"
    if slot.kind == SlotKind.CONSULT:
        return "consult"
    if decided or slot.stage.role == StageRole.DECIDE:
        return "decide"
    return "approve"


def _box(version: DocumentVersion, key: str, pk: int) -> tuple[str, Box] | None:
    for stamp in version.record_layout.get("stamps", []):
        if stamp.get("key") == key:
            field_prefix = f"seal-{key.replace(':', '-')}-"
            if version.record_revisions.filter(field_name__startswith=field_prefix).exists():
                return None  # sealed in an earlier round: the box shows that seal
            x, y, width, height = stamp["rect"]
            return f"{field_prefix}{pk}", (stamp["page"] - 1, x, y, x + width, y + height)
    return None


def _rgb(color: str) -> tuple[int, int, int]:
    value = color.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def _mark(annotation: Annotation, author: str, stage: str) -> Mark:
    return Mark(
        page=annotation.page - 1,
        kind=annotation.kind,
        rects=[(r[0], r[1], r[2], r[3]) for r in annotation.rects],
        strokes=[[(p[0], p[1]) for p in stroke] for stroke in annotation.strokes],
        text=annotation.text,
        color=_rgb(annotation.color),
        author=author,
        subject=stage,
        created=annotation.created_at,
        name=f"ekessai-annotation-{annotation.pk}",
    )


def _number_mark(document: Document, version: DocumentVersion) -> list[Mark]:
    """The number and the decision date set into the cover's own cells, exactly over 未定, in
    the decider's signed revision. A record laid out before the cells were known gets the
    slip beside the title instead."""
    decided = timezone.localdate(document.decided_at) if document.decided_at else None
    when = document.decided_at or dt.datetime.now(dt.UTC)
    texts = {"document_number": str(document.number), "decided_on": japanese_date(decided, "")}
    cells = version.record_layout.get("cells") or {}
    if all(key in cells for key in texts):
        out = []
        for key, text in texts.items():
            x, y, width, height = cells[key]["rect"]
            out.append(
                Mark(
                    page=cells[key]["page"] - 1,
                    kind="freetext",
                    rects=[(x, y, x + width, y + height)],
                    text=text,
                    color=(255, 255, 255),
                    author="電子決裁システム",
                    subject="決裁",
                    created=when,
                    name=f"ekessai-{key.replace('_', '-')}-{document.pk}",
                    border=False,
                    font_size=9.5,  # the table's own size (documents.record.cover)
                )
            )
        return out
    return [
        Mark(
            page=0,
            kind="freetext",
            rects=[NUMBER_MARK_RECT],
            text=f"文書番号 {document.number}\n決裁日 {texts['decided_on']}",
            color=(255, 236, 236),
            author="電子決裁システム",
            subject="決裁",
            created=when,
            name=f"ekessai-number-{document.pk}",
        )
    ]


def _decision_metadata(document: Document, version: DocumentVersion) -> tuple[str, tuple[str, ...]]:
    """The record's subject and keywords after the decision (the number, the date)."""
    decided = timezone.localdate(document.decided_at) if document.decided_at else None
    date = japanese_date(decided, "")
    subject = f"文書番号 {document.number} 決裁日 {date} 第{version.number}版"
    return subject, (
        f"文書番号:{document.number}",
        f"決裁日:{decided.isoformat() if decided else ''}",
    )


def seal_action(route: Route, slot: Slot, actor: User, action: str) -> None:
    """Write `actor`'s marks and signature for their action on `slot` into the record."""
    if not enabled():
        return
    document = route.document  # locked with the route (workflow.locks), as the action left it
    version = ensure_record(document.versions.get(number=route.document_version))
    # Only a blocking approval can decide; a 後閲 after the decision must not decide again.
    decided = action == "approve" and slot.blocking and document.status == Status.DECIDED
    verb = _verb(slot, action, decided)
    key_id, position, section = _slot_signer(actor, slot)
    if slot.on_behalf_of is not None and verb in ("approve", "decide", "consult"):
        absent = title(slot.department_name, slot.position_name) or str(slot.on_behalf_of)
        reason = f"代決 {position}（{absent}）"
    else:
        reason = f"{VERBS[verb]} {position}"
    key = stamp_key(slot.stage.index, slot.order)
    boxed = _box(version, key, slot.pk) if verb in BOXED else None
    field_name, box = boxed if boxed else (f"sig-{slot.pk}", None)
    pending = marks.pending_for(slot)
    author = f"{actor}（{position}）"
    to_write = [_mark(a, author, slot.stage.name) for a in pending]
    subject: str | None = None
    keywords: tuple[str, ...] = ()
    if decided:
        to_write.extend(_number_mark(document, version))
        subject, keywords = _decision_metadata(document, version)
    with _refusing_on_failure():
        revisions = seal(
            version,
            SealRequest(
                key_id=key_id,
                position=position,
                section=section,
                reason=reason,
                signer_name=str(actor),
                field_name=field_name,
                box=box,
                marks=to_write,
                subject=subject,
                keywords=keywords,
                actor_id=actor.pk,
                on_behalf_of_id=slot.on_behalf_of_id,
                finalize=decided,
            ),
        )
    if pending:
        Annotation.objects.filter(pk__in=[a.pk for a in pending]).update(revision=revisions[0])
    _audit(document, actor, slot.on_behalf_of, revisions)


def seal_submission(route: Route, drafter: User) -> None:
    """起案: the drafter's seal in the first box binds them to the record they submit."""
    if not enabled():
        return
    document = Document.objects.select_related("department").get(pk=route.document_id)
    version = ensure_record(document.versions.get(number=route.document_version))
    key_id, position, section = _signer(drafter, document.department.full_name)
    boxed = _box(version, "drafter", version.number)
    field_name, box = boxed if boxed else (f"draft-{version.number}", None)
    with _refusing_on_failure():
        revisions = seal(
            version,
            SealRequest(
                key_id=key_id,
                position=position,
                section=section,
                reason=f"起案 {position}",
                signer_name=str(drafter),
                field_name=field_name,
                box=box,
                actor_id=drafter.pk,
            ),
        )
    _audit(document, drafter, None, revisions)


def _audit(
    document: Document, actor: User, on_behalf_of: User | None, revisions: list[RecordRevision]
) -> None:
    """Which person used which position key, after which authentication (DESIGN.md §4)."""
    how = authentication()
    for revision in revisions:
        # After the action's own entry (workflow.submit, workflow.approve …), which the action
        # writes at its end.
        progression.audit_at_end(
            {
                "action": (
                    "signing.sign"
                    if revision.kind == RevisionKind.SIGNATURE
                    else "signing.timestamp"
                ),
                "actor": actor,
                "on_behalf_of": on_behalf_of,
                "document": document.pk,
                "version": revision.version.number,  # the instance seal() wrote it with
                "data": {**revision_summary(revision), "authentication": how},
            }
        )
