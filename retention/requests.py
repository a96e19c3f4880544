"""Asking to dispose of (廃棄) or transfer (移管) records: a document of its own, on a route.

`request_disposal` checks every named record (decided, period ended, not already disposed, not in
another pending request) with the records locked, writes a document of type ``disposal`` that
lists them in its body, links it to them, and submits it with `workflow.services.submit`: the
route (in the demo, 総務部長) decides it like any other proposal. Nothing happens to the records
until that decision (`retention.execution`).
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from rest_framework import status

from api.errors import ApiError
from audit import services as audit
from documents import services as documents
from documents.models import Document, DocumentType, Retention, Secrecy, Status
from org import roles
from org.models import User
from workflow import services as workflow

from . import periods
from .models import DisposalAction, DisposalItem, DisposalRequest, ItemStatus

DOC_TYPE = "disposal"
MAX_RECORDS = 500
# A request is pending from its creation until it is carried out, rejected or withdrawn.
PENDING_STATUSES = (Status.DRAFT, Status.IN_REVIEW, Status.SENT_BACK, Status.DECIDED)


class RetentionError(ApiError):
    pass


def is_administrator(user: User) -> bool:
    if not user.is_active:
        return False
    return user.is_superuser or user.groups.filter(name=roles.ADMINISTRATOR).exists()


def reads_retention(user: User) -> bool:
    """Administrators and auditors see the expired list, the requests and the tombstones."""
    if not user.is_active:
        return False
    if user.is_superuser:
        return True
    return user.groups.filter(name__in=[roles.ADMINISTRATOR, roles.AUDITOR]).exists()


def label(document: Document) -> str:
    return document.number or f"#{document.pk}"


def _names(documents_: Sequence[Document]) -> str:
    return _(", ").join(label(d) for d in documents_)


def pending_items(record_ids: Sequence[int]) -> Q:
    return Q(
        record_id__in=record_ids,
        status=ItemStatus.PENDING,
        request__executed_at__isnull=True,
        request__document__status__in=PENDING_STATUSES,
    )


def _check(records: list[Document], wanted: Sequence[int]) -> None:
    """Refuse the whole request, naming every record at fault, for the first kind of fault."""
    found = {d.pk for d in records}
    unknown = [pk for pk in wanted if pk not in found]
    if unknown:
        raise RetentionError(
            "unknown_documents",
            _("No such documents: %(ids)s") % {"ids": ", ".join(str(pk) for pk in unknown)},
        )
    gone = [d for d in records if d.status in (Status.DISPOSED, Status.TRANSFERRED)]
    if gone:
        raise RetentionError(
            "already_disposed",
            _("Already disposed of or transferred: %(records)s") % {"records": _names(gone)},
            status.HTTP_409_CONFLICT,
        )
    undecided = [d for d in records if d.status != Status.DECIDED]
    if undecided:
        raise RetentionError(
            "not_decided",
            _("Only decided records can be disposed of: %(records)s")
            % {"records": _names(undecided)},
            status.HTTP_409_CONFLICT,
        )
    today = periods.today()
    running = []
    for record in records:
        end = periods.retention_end(record)
        if not periods.is_expired(end, today):
            running.append(periods.describe_record(label(record), end))
    if running:
        raise RetentionError(
            "retention_not_expired",
            _("The retention period has not ended: %(records)s")
            % {"records": _(", ").join(running)},
            status.HTTP_409_CONFLICT,
        )
    busy = list(
        DisposalItem.objects.filter(pending_items([d.pk for d in records]))
        .select_related("record", "request__document")
        .order_by("record_id")
    )
    if busy:
        raise RetentionError(
            "already_requested",
            _("Already in another pending disposal request: %(records)s")
            % {
                "records": _(", ").join(
                    _("%(record)s (request #%(request)s)")
                    % {"record": label(item.record), "request": item.request.document_id}
                    for item in busy
                )
            },
            status.HTTP_409_CONFLICT,
        )


def disposal_type() -> DocumentType:
    doc_type, _created = DocumentType.objects.get_or_create(
        code=DOC_TYPE,
        defaults={"name": "廃棄・移管", "default_retention_years": 30, "sort_order": 95},
    )
    return doc_type


def _body(action: str, records: list[Document], reason: str) -> str:
    if action == DisposalAction.TRANSFER:
        opening = _(
            "The retention period of the following records has ended. May they be transferred "
            "to the archives (移管) and then removed from this system?"
        )
    else:
        opening = _(
            "The retention period of the following records has ended. May they be disposed of "
            "(廃棄)?"
        )
    lines = [opening, "", _("Reason: %(reason)s") % {"reason": reason}, ""]
    for n, record in enumerate(records, start=1):
        decided = record.decided_at
        lines.append(
            _(
                "%(n)d. %(number)s %(title)s (%(department)s; decided %(decided)s; kept "
                "%(years)s; period ended %(end)s)"
            )
            % {
                "n": n,
                "number": label(record),
                "title": record.title,
                "department": record.department.name,
                "decided": periods.describe_end(decided.date() if decided else None),
                "years": Retention(record.retention_years).label,
                "end": periods.describe_end(periods.retention_end(record)),
            }
        )
    return "\n".join(lines)


def _secrecy(records: list[Document]) -> str:
    order = [Secrecy.NORMAL, Secrecy.SECRET, Secrecy.TOP_SECRET]
    return max((Secrecy(d.secrecy) for d in records), key=order.index, default=Secrecy.NORMAL)


def _title(action: str, count: int) -> str:
    if action == DisposalAction.TRANSFER:
        return ngettext(
            "Transfer of %(count)d record whose retention period has ended",
            "Transfer of %(count)d records whose retention period has ended",
            count,
        ) % {"count": count}
    return ngettext(
        "Disposal of %(count)d record whose retention period has ended",
        "Disposal of %(count)d records whose retention period has ended",
        count,
    ) % {"count": count}


def request_disposal(
    user: User, action: str, document_ids: Sequence[int], reason: str
) -> DisposalRequest:
    """Create and submit a disposal (or transfer) request; refusals are audited and raised."""
    if not is_administrator(user):
        raise RetentionError(
            "permission_denied",
            _("Only administrators may request a disposal."),
            status.HTTP_403_FORBIDDEN,
        )
    ids = list(dict.fromkeys(int(pk) for pk in document_ids))
    try:
        with transaction.atomic():
            return _request(user, action, ids, reason.strip())
    except RetentionError as exc:
        audit.record(
            "retention.request_refused",
            actor=user,
            data={
                "action": action,
                "documents": ids,
                "code": str(exc.get_codes()),
                "message": str(exc.detail),
            },
        )
        raise


def _request(user: User, action: str, ids: list[int], reason: str) -> DisposalRequest:
    if action not in DisposalAction.values:
        raise RetentionError("invalid", _("action must be dispose or transfer."))
    if not ids:
        raise RetentionError("invalid", _("Name at least one record."))
    if len(ids) > MAX_RECORDS:
        raise RetentionError(
            "invalid", _("At most %(n)d records per request.") % {"n": MAX_RECORDS}
        )
    if not reason:
        raise RetentionError("invalid", _("Give the reason for the disposal."))
    # Locked in id order: two requests naming the same record wait for each other, and the
    # second then finds the first one's items (refused as already requested).
    records = list(
        Document.objects.select_for_update(of=("self",))
        .select_related("department")
        .filter(pk__in=ids)
        .order_by("pk")
    )
    _check(records, ids)
    ordered = sorted(records, key=lambda d: ids.index(d.pk))
    fields = {
        "title": _title(action, len(ordered))[:200],
        "doc_type": disposal_type(),
        "body": _body(action, ordered, reason),
        "retention_years": disposal_type().default_retention_years,
        # The body names the records: the request is as secret as the most secret of them.
        "secrecy": _secrecy(ordered),
    }
    document = documents.create_document(user, fields)
    request = DisposalRequest.objects.create(
        document=document, action=action, reason=reason, requested_by=user
    )
    DisposalItem.objects.bulk_create(
        DisposalItem(request=request, record=record, position=n)
        for n, record in enumerate(ordered, start=1)
    )
    audit.record(
        "retention.request",
        actor=user,
        document=document,
        data={
            "action": action,
            "reason": reason,
            "records": [{"id": d.pk, "number": d.number} for d in ordered],
        },
    )
    for record in ordered:
        audit.record(
            "retention.requested",
            actor=user,
            document=record,
            data={"action": action, "request": document.pk},
        )
    workflow.submit(user, document.pk)
    return request
