"""Verification of signed records, with a difference policy that tolerates markup annotations.

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

import datetime as dt
import io
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils import generic, misc
from pyhanko.pdf_utils.reader import HistoricalResolver, PdfFileReader, RawPdfPath
from pyhanko.sign.ades.report import AdESFailure, AdESIndeterminate
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
from pyhanko.sign.validation import async_validate_pdf_signature, async_validate_pdf_timestamp
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from . import conf
from .keystore import KeyStore, get_keystore

logger = logging.getLogger(__name__)

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

Modification = str  # "none" | "annotations" | "other"


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
    for _ in range(32):
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
        if [r for r, _ in old_pages] != [r for r, _ in new_pages]:
            raise SuspiciousModification(
                f"page tree changed: {len(old_pages)} pages before, {len(new_pages)} after"
            )
        since = old.revision + 1
        for number, ((page_ref, old_page), (_, new_page)) in enumerate(
            zip(old_pages, new_pages, strict=True), start=1
        ):
            try:
                old_annots, _ = _annots(old_page)
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


def describe_changes(reader: PdfFileReader, since_revision: int) -> list[str]:
    """Plain descriptions of what each revision after ``since_revision`` changed (best effort,
    for reports; the judgment itself is the policy's)."""
    notes: list[str] = []
    total = reader.xrefs.total_revisions
    for rev in range(since_revision + 1, total):
        try:
            old = reader.get_historical_resolver(rev - 1)
            new = reader.get_historical_resolver(rev)
            notes.extend(f"revision {rev}: {n}" for n in _diff_revisions(old, new))
        except Exception as e:  # a description must never break a report
            notes.append(f"revision {rev}: could not be compared ({e})")
    return notes


def _diff_revisions(old: HistoricalResolver, new: HistoricalResolver) -> list[str]:
    notes: list[str] = []
    old_pages = list(_pages(old))
    new_pages = list(_pages(new))
    old_refs = [r for r, _ in old_pages]
    new_refs = [r for r, _ in new_pages]
    added = [i + 1 for i, r in enumerate(new_refs) if r not in old_refs]
    removed = [i + 1 for i, r in enumerate(old_refs) if r not in new_refs]
    if added:
        notes.append(f"page(s) added: {added}")
    if removed:
        notes.append(f"page(s) removed: {removed}")
    if not added and not removed and old_refs != new_refs:
        notes.append("pages reordered")
    old_by_ref = dict(old_pages)
    for number, (ref, page) in enumerate(new_pages, start=1):
        before = old_by_ref.get(ref)
        if before is None:
            continue
        if _stream_bytes(before.raw_get("/Contents") if "/Contents" in before else None) != (
            _stream_bytes(page.raw_get("/Contents") if "/Contents" in page else None)
        ):
            notes.append(f"content of page {number} changed")
        keys = {
            k
            for k in set(before.keys()) | set(page.keys())
            if k not in ("/Annots", "/Contents")
            and (k not in before or k not in page or before.raw_get(k) != page.raw_get(k))
        }
        if keys:
            notes.append(f"page {number} entries changed: {sorted(keys)}")
        old_a, _ = _annots(before) if "/Annots" in before else (set(), None)
        try:
            new_a, _ = _annots(page)
        except SuspiciousModification:
            new_a = set()
        if old_a - new_a:
            notes.append(f"annotations removed from page {number}")
        for a in new_a - old_a:
            annot = new(a)
            subtype = annot.get("/Subtype")
            if any(k in annot for k in ACTION_KEYS):
                notes.append(f"annotation {subtype} with an action added on page {number}")
            elif subtype in MARKUP_SUBTYPES:
                notes.append(f"markup annotation {subtype} added on page {number}")
            elif not _is_sig_widget(annot):
                notes.append(f"annotation {subtype} added on page {number}")
    old_fields, new_fields = _fields(old), _fields(new)
    for name, node in new_fields.items():
        if node.get("/FT") == "/Sig":
            if name not in old_fields:
                notes.append(f"signature field {name} added")
            continue
        if name not in old_fields:
            notes.append(f"form field {name} added")
        elif old_fields[name].get("/V") != node.get("/V"):
            notes.append(f"form field {name} value changed")
    for name in old_fields.keys() - new_fields.keys():
        notes.append(f"form field {name} removed")
    for key in ("/OpenAction", "/AA", "/Names"):
        if old.root.get(key) != new.root.get(key):
            notes.append(f"document catalog {key} changed")
    return notes


# --- the report --------------------------------------------------------------------------------


@dataclass
class SignatureReport:
    field_name: str
    kind: str  # "signature" | "document_timestamp"
    signer: str | None = None  # CN of the certificate (the position)
    position: str | None = None  # CN
    section: str | None = None  # OU
    organisation: str | None = None  # O
    signer_name: str | None = None  # /Name of the signature (the person)
    reason: str | None = None
    signed_at: dt.datetime | None = None  # claimed by the signer (/M)
    timestamp: dt.datetime | None = None  # signature timestamp (or the document timestamp)
    tsa: str | None = None
    timestamp_valid: bool | None = None
    intact: bool = False
    trusted: bool = False
    revoked: bool = False  # revoked, and that invalidates this signature
    revoked_at: dt.datetime | None = None  # the certificate's revocation, if any (our CRL)
    revocation_reason: str | None = None  # e.g. cessation_of_operation (the post was abolished)
    # True when the certificate was revoked (or expired) only after the signature's trusted
    # timestamp, which proves the signature existed while the certificate was good: valid.
    validated_at_timestamp: bool = False
    # Set when this timestamp (the signature's, or this document timestamp) could only be
    # validated at the time of a later document timestamp (its TSA certificate has expired
    # since): the archival chain of PAdES B-LTA. The time used.
    timestamp_validated_at: dt.datetime | None = None
    coverage: str | None = None
    modification: Modification = "other"
    modification_level: str | None = None
    changes: list[str] = field(default_factory=list)
    valid: bool = False
    problem: str | None = None
    revision: int | None = None

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k, v in d.items():
            if isinstance(v, dt.datetime):
                d[k] = v.isoformat()
        return d


@dataclass
class VerificationReport:
    valid: bool
    signatures: list[SignatureReport] = field(default_factory=list)
    problem: str | None = None
    revisions: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "problem": self.problem,
            "revisions": self.revisions,
            "signatures": [s.as_dict() for s in self.signatures],
        }


def _name_parts(name: asn1_x509.Name) -> dict[str, str]:
    native = name.native

    def get(key: str) -> str:
        value = native.get(key, "")
        return " ".join(value) if isinstance(value, list) else str(value)

    return {
        "cn": get("common_name"),
        "ou": get("organizational_unit_name"),
        "o": get("organization_name"),
    }


def _load_extra_roots() -> list[asn1_x509.Certificate]:
    from pyhanko.keys import load_certs_from_pemder

    files = [str(p) for p in conf.extra_trust_root_files()]
    return list(load_certs_from_pemder(files)) if files else []


def _modification(level: ModificationLevel | None) -> Modification:
    if level is None or level == ModificationLevel.OTHER:
        return "other"
    if level == ModificationLevel.ANNOTATIONS:
        return "annotations"
    return "none"


def _text(sig: EmbeddedPdfSignature, key: str) -> str | None:
    value = sig.sig_object.get(key)
    return str(value) if value is not None else None


# Revocation reasons after which no earlier signature can be trusted: the key may have been in
# other hands before the revocation was recorded. After any other reason (the post was
# abolished, the key superseded, an affiliation changed…) a signature whose trusted timestamp
# precedes the revocation stays valid.
COMPROMISE_REASONS = frozenset({"key_compromise", "ca_compromise", "aa_compromise", "unspecified"})
_POINT_IN_TIME = frozenset(
    {
        AdESFailure.REVOKED,
        AdESIndeterminate.REVOKED_NO_POE,
        AdESIndeterminate.OUT_OF_BOUNDS_NO_POE,
        AdESIndeterminate.EXPIRED,
    }
)


def verify_pdf(
    data: bytes,
    *,
    keystore: KeyStore | None = None,
    validation_context: ValidationContext | None = None,
) -> VerificationReport:
    """Check every signature and document timestamp of ``data``. Never raises for bad input:
    unsigned, encrypted or broken files give ``valid=False`` with a ``problem``."""
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        revisions = reader.xrefs.total_revisions
    except Exception as e:
        return VerificationReport(False, problem=f"not a readable PDF: {e}")
    if reader.encrypted:
        return VerificationReport(
            False, problem="the PDF is encrypted; signed records must not be", revisions=revisions
        )
    try:
        sigs = list(reader.embedded_signatures)
    except Exception as e:
        return VerificationReport(
            False, problem=f"cannot read the signature fields: {e}", revisions=revisions
        )
    if not sigs:
        return VerificationReport(False, problem="the PDF has no signature", revisions=revisions)

    from .signer import run_sync
    from .signer import validation_context as build_vc

    store: KeyStore | None = None
    if validation_context is None:
        try:
            ours_store = store = keystore or get_keystore()
            ours_root = store.trust().root.subject
            extra_roots = _load_extra_roots()
        except Exception as e:
            return VerificationReport(
                False, problem=f"trust configuration unusable: {e}", revisions=revisions
            )

        def context(foreign: bool, moment: dt.datetime | None = None) -> ValidationContext:
            # our chain: the CRL is always at hand, so revocation data is required;
            # foreign chains (extra roots, an external TSA): no fetching, so soft-fail
            if not foreign:
                return build_vc(ours_store, moment=moment, retroactive_revinfo=moment is not None)
            return build_vc(
                ours_store,
                extra_roots=extra_roots,
                revocation_mode="soft-fail",
                moment=moment,
                retroactive_revinfo=moment is not None,
            )
    else:
        ours_root = None
        given = validation_context

        def context(foreign: bool, moment: dt.datetime | None = None) -> ValidationContext:
            return given

    def ours(sig: EmbeddedPdfSignature) -> bool:
        try:
            return ours_root is not None and sig.signer_cert.issuer == ours_root
        except Exception:
            return False

    async def validate_all() -> list[SignatureReport]:
        # From the last signature back: a valid document timestamp proves that everything
        # before it existed at its time, so an earlier timestamp whose TSA certificate has
        # expired since is validated at that time instead (the archival chain of B-LTA).
        reports: dict[int, SignatureReport] = {}
        poe: dt.datetime | None = None
        for index in reversed(range(len(sigs))):
            sig = sigs[index]
            mine = ours(sig)
            report = await _verify_one(
                reader,
                sig,
                Contexts(context, mine=mine, past=store is not None),
                poe=poe,
            )
            reports[index] = report
            if report.kind == "document_timestamp" and report.valid and report.timestamp:
                poe = report.timestamp if poe is None else min(poe, report.timestamp)
        return [reports[i] for i in range(len(sigs))]

    try:
        reports = run_sync(validate_all())
    except Exception as e:  # a context that cannot be built, say
        logger.warning("verification failed", exc_info=True)
        return VerificationReport(False, problem=f"verification failed: {e}", revisions=revisions)
    problem = None
    bad = [r for r in reports if not r.valid]
    if bad:
        problem = "; ".join(f"{r.field_name}: {r.problem}" for r in bad)
    return VerificationReport(not bad, reports, problem=problem, revisions=revisions)


@dataclass(frozen=True)
class Contexts:
    """Builds the validation contexts of one signature: for its signer (our chain, or a foreign
    one), for timestamps (soft-fail: the TSA may be external); now, or at a past moment."""

    build: Callable[[bool, dt.datetime | None], ValidationContext]
    mine: bool
    past: bool  # whether validation at a past moment is possible (our own trust configuration)

    def signer(self, moment: dt.datetime | None = None) -> ValidationContext:
        return self.build(not self.mine, moment)

    def timestamps(self, moment: dt.datetime | None = None) -> ValidationContext:
        return self.build(True, moment)


def _time_bound_failure(status: Any) -> bool:
    """Failed only because of time (expired, or revoked for a reason other than a compromise,
    with no proof of existence before): a proof of existence in the past may cure it."""
    if status is None or status.trusted or not (status.intact and status.valid):
        return False
    if status.trust_problem_indic not in _POINT_IN_TIME:
        return False
    details = status.revocation_details
    return details is None or (
        not details.ca_revoked and details.revocation_reason.native not in COMPROMISE_REASONS
    )


def _revoked_before(status: Any, moment: dt.datetime) -> bool:
    details = status.revocation_details
    return details is not None and not moment < details.revocation_date


async def _verify_one(
    reader: PdfFileReader,
    sig: EmbeddedPdfSignature,
    contexts: Contexts,
    *,
    poe: dt.datetime | None = None,
) -> SignatureReport:
    """Validate one signature or document timestamp. ``poe`` is the time of the earliest valid
    later document timestamp, if any: proof that this one existed then."""
    is_ts = sig.sig_object_type == "/DocTimeStamp"
    report = SignatureReport(
        field_name=str(sig.field_name),
        kind="document_timestamp" if is_ts else "signature",
    )
    try:
        report.revision = sig.signed_revision
        report.signer_name = _text(sig, "/Name")
        report.reason = _text(sig, "/Reason")
        report.signed_at = sig.self_reported_timestamp
        if is_ts:
            status: Any = await async_validate_pdf_timestamp(
                sig, contexts.signer(), diff_policy=ANNOTATION_DIFF_POLICY
            )
            if (
                contexts.past
                and poe is not None
                and _time_bound_failure(status)
                and not _revoked_before(status, poe)
            ):
                again = await async_validate_pdf_timestamp(
                    sig, contexts.signer(poe), diff_policy=ANNOTATION_DIFF_POLICY
                )
                if again.trusted:
                    status = again
                    report.timestamp_validated_at = poe
            report.timestamp = status.timestamp
            report.tsa = _name_parts(status.signing_cert.subject)["cn"]
            report.timestamp_valid = bool(status.valid and status.intact and status.trusted)
        else:
            ts_vc = contexts.timestamps()
            status = await async_validate_pdf_signature(
                sig,
                contexts.signer(),
                ts_validation_context=ts_vc,
                diff_policy=ANNOTATION_DIFF_POLICY,
            )
            ts = status.timestamp_validity
            if (
                contexts.past
                and poe is not None
                and _time_bound_failure(ts)
                and not _revoked_before(ts, poe)
            ):
                past_ts_vc = contexts.timestamps(poe)
                with_poe = await async_validate_pdf_signature(
                    sig,
                    contexts.signer(),
                    ts_validation_context=past_ts_vc,
                    diff_policy=ANNOTATION_DIFF_POLICY,
                )
                ts_poe = with_poe.timestamp_validity
                if ts_poe is not None and ts_poe.trusted:
                    status, ts_vc = with_poe, past_ts_vc
                    report.timestamp_validated_at = poe
            details = status.revocation_details
            if details is not None:
                report.revoked_at = details.revocation_date
                report.revocation_reason = details.revocation_reason.native
            if contexts.past and contexts.mine and _time_bound_failure(status):
                status = (
                    await _validate_at_timestamp(sig, status, contexts, ts_vc, report) or status
                )
            ts = status.timestamp_validity
            if ts is not None:
                report.timestamp = ts.timestamp
                report.tsa = _name_parts(ts.signing_cert.subject)["cn"]
                report.timestamp_valid = bool(ts.valid and ts.intact and ts.trusted)
    except Exception as e:
        logger.info("signature %s could not be validated", sig.field_name, exc_info=True)
        report.problem = f"could not be validated: {type(e).__name__}: {e}"
        return report

    parts = _name_parts(status.signing_cert.subject)
    report.signer = parts["cn"]
    report.position = parts["cn"]
    report.section = parts["ou"]
    report.organisation = parts["o"]
    report.intact = bool(status.intact and status.valid)
    report.trusted = bool(status.trusted)
    report.revoked = bool(status.revoked)
    report.coverage = status.coverage.name if status.coverage is not None else None
    level = status.modification_level
    report.modification_level = level.name if level is not None else None
    report.modification = _modification(level)
    if report.modification == "other" or not report.intact:
        report.changes = describe_changes(reader, sig.signed_revision)
        diff = status.diff_result
        if isinstance(diff, SuspiciousModification):
            report.changes.append(f"difference analysis: {str(diff).splitlines()[0]}")

    problems = []
    if not report.intact:
        problems.append("the signed bytes were altered (digest or signature mismatch)")
    if status.coverage is not None and status.coverage < SignatureCoverageLevel.ENTIRE_REVISION:
        problems.append("the signature does not cover its whole revision")
    if report.modification == "other":
        detail = ", ".join(c for c in report.changes if "difference analysis" not in c)
        problems.append(
            "the document was changed after signing" + (f" ({detail})" if detail else "")
        )
    if report.revoked:
        problems.append("the certificate is revoked")
    elif not report.trusted:
        problems.append("the certificate does not chain to a trusted root")
    if not is_ts and report.timestamp is None:
        problems.append("no signature timestamp")
    elif report.timestamp_valid is False:
        problems.append("the timestamp is not valid or not trusted")
    report.valid = not problems
    report.problem = "; ".join(problems) or None
    return report


async def _validate_at_timestamp(
    sig: EmbeddedPdfSignature,
    status: Any,
    contexts: Contexts,
    ts_vc: ValidationContext,
    report: SignatureReport,
) -> Any:
    """Point-in-time validation with the signature timestamp as proof of existence.

    The signer's certificate failed now (revoked for a reason other than a compromise, or
    expired). If the signature's timestamp is valid and trusted, and earlier than the
    revocation, validate the chain *at that time* with our current CRL: pyHanko accepts a
    revocation dated after the validation moment (and a certificate that expired since).
    Returns the new status when it is trusted, else ``None``."""
    ts = status.timestamp_validity
    if ts is None or not (ts.valid and ts.intact and ts.trusted) or ts.timestamp is None:
        return None
    when: dt.datetime = ts.timestamp
    if _revoked_before(status, when):
        return None
    again = await async_validate_pdf_signature(
        sig, contexts.signer(when), ts_validation_context=ts_vc, diff_policy=ANNOTATION_DIFF_POLICY
    )
    if not (again.trusted and not again.revoked):
        return None
    report.validated_at_timestamp = True
    return again
