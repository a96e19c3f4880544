"""Verification of signed records: every signature and document timestamp, trusted or not,
intact or not, and what changed after it, judged by :mod:`signing.diffpolicy` (later markup
annotations are reported as such; anything else names the change).

The ``problem`` and ``changes`` texts are in the active language (gettext; Japanese unless the
caller activated another), with exception details and PDF names as they are.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from asn1crypto import x509 as asn1_x509
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESFailure, AdESIndeterminate
from pyhanko.sign.diff_analysis import (
    DiffPolicy,
    ModificationLevel,
    SuspiciousModification,
)
from pyhanko.sign.validation import async_validate_pdf_signature, async_validate_pdf_timestamp
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from .cms import run_sync
from .coverage import MAX_REVIEWED_REVISIONS, coverage
from .diffpolicy import ANNOTATION_DIFF_POLICY, describe_changes
from .keystore import KeyStore, get_keystore
from .reading import Found, RawCheck, check_raw, collect, scan
from .trust import extra_trust_roots
from .trust import validation_context as build_vc
from .verification_report import (
    Modification,
    SignatureReport,
    VerificationReport,
    join_problems,
)

logger = logging.getLogger(__name__)


class _TooManyRevisions(DiffPolicy):
    """Stands in for the annotation policy when more revisions follow a signature than any
    record of ours has: the answer is "changed", at once, rather than minutes of comparing."""

    def __init__(self, count: int) -> None:
        self.count = count

    def apply(self, old: Any, new: Any, field_mdp_spec: Any = None, doc_mdp: Any = None) -> Any:
        raise SuspiciousModification(self._message())

    def review_file(
        self, reader: Any, base_revision: Any, field_mdp_spec: Any = None, doc_mdp: Any = None
    ) -> Any:
        return SuspiciousModification(self._message())

    def _message(self) -> str:
        return (
            f"{self.count} revisions follow this signature, more than the "
            f"{MAX_REVIEWED_REVISIONS} the verifier compares"
        )


def _policy(reader: PdfFileReader, sig: EmbeddedPdfSignature) -> DiffPolicy:
    after = reader.xrefs.total_revisions - 1 - sig.signed_revision
    return ANNOTATION_DIFF_POLICY if after <= MAX_REVIEWED_REVISIONS else _TooManyRevisions(after)


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
        return _verify(data, keystore, validation_context)
    except Exception as e:  # a file nobody foresaw: a report, never an error
        logger.warning("verification failed", exc_info=True)
        return VerificationReport(
            False, problem=_("verification failed: %(error)s") % {"error": _error(e)}
        )


def _error(e: BaseException) -> str:
    text = str(e).splitlines()[0] if str(e) else ""
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def _verify(
    data: bytes,
    keystore: KeyStore | None,
    validation_context: ValidationContext | None,
) -> VerificationReport:
    reader: PdfFileReader | None
    revisions: int | None
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        revisions = reader.xrefs.total_revisions
    except Exception as e:
        # poppler rebuilds a broken cross-reference table and still checks the signatures:
        # find them in the bytes, and check what can be checked without the structure
        found = [
            Found(_("signature %(n)s") % {"n": i}, sig_object=obj, error=_error(e))
            for i, obj in enumerate(scan(data), start=1)
        ]
        if not found:
            return VerificationReport(
                False, problem=_("not a readable PDF: %(error)s") % {"error": e}
            )
        reader, revisions = None, None
    else:
        try:
            encrypted = reader.encrypted
        except Exception:  # /Encrypt that is no dictionary (an array, a number…)
            encrypted = True
        if encrypted:
            return VerificationReport(
                False,
                problem=_("the PDF is encrypted; signed records must not be"),
                revisions=revisions,
            )
        try:
            found = collect(reader)
        except Exception as e:
            return VerificationReport(
                False,
                problem=_("cannot read the signature fields: %(error)s") % {"error": _error(e)},
                revisions=revisions,
            )
    if not found:
        return VerificationReport(False, problem=_("the PDF has no signature"), revisions=revisions)

    store: KeyStore | None = None
    if validation_context is None:
        try:
            ours_store = store = keystore or get_keystore()
            ours_root = store.trust().root.subject
            extra_roots = extra_trust_roots()
        except Exception as e:
            return VerificationReport(
                False,
                problem=_("trust configuration unusable: %(error)s") % {"error": e},
                revisions=revisions,
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
        for index in reversed(range(len(found))):
            item = found[index]
            sig = item.sig
            if sig is None or reader is None:
                reports[index] = await _verify_raw(data, reader, item, context(True))
                continue
            report = await _verify_one(
                reader,
                sig,
                Contexts(context, mine=ours(sig), past=store is not None),
                poe=poe,
            )
            if item.signer_infos > 1:
                several = _(
                    "the signature holds %(n)s SignerInfos where a PDF signature has one "
                    "(the first was checked)"
                ) % {"n": item.signer_infos}
                report.valid = False
                report.problem = join_problems([p for p in (several, report.problem) if p])
            reports[index] = report
            if report.kind == "document_timestamp" and report.valid and report.timestamp:
                poe = report.timestamp if poe is None else min(poe, report.timestamp)
        return [reports[i] for i in range(len(found))]

    try:
        reports = run_sync(validate_all())
    except Exception as e:  # a context that cannot be built, say
        logger.warning("verification failed", exc_info=True)
        return VerificationReport(
            False,
            problem=_("verification failed: %(error)s") % {"error": e},
            revisions=revisions,
        )
    unsigned = coverage(reader, reports) if reader is not None else []
    problems = []
    if unsigned:
        problems.append(
            _("changed after the last signature, signed by nobody: %(changes)s")
            % {"changes": pgettext("list separator", ", ").join(unsigned)}
        )
    bad = [r for r in reports if not r.valid]
    problems.extend(
        pgettext("signature field: its problem", "%(field)s: %(problem)s")
        % {"field": r.field_name, "problem": r.problem}
        for r in bad
    )
    return VerificationReport(
        not problems,
        reports,
        problem=join_problems(problems) or None,
        revisions=revisions,
        unsigned_changes=unsigned,
    )


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
        policy = _policy(reader, sig)
        report.signer_name = _text(sig, "/Name")
        report.reason = _text(sig, "/Reason")
        report.signed_at = sig.self_reported_timestamp
        if is_ts:
            status: Any = await async_validate_pdf_timestamp(
                sig, contexts.signer(), diff_policy=policy
            )
            if (
                contexts.past
                and poe is not None
                and _time_bound_failure(status)
                and not _revoked_before(status, poe)
            ):
                again = await async_validate_pdf_timestamp(
                    sig, contexts.signer(poe), diff_policy=policy
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
                diff_policy=policy,
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
                    diff_policy=policy,
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
        report.problem = _("could not be validated: %(error)s") % {
            "error": f"{type(e).__name__}: {e}"
        }
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
    described: list[str] = []
    if report.modification == "other" or not report.intact:
        described = describe_changes(reader, sig.signed_revision)
        report.changes = list(described)
        diff = status.diff_result
        if isinstance(diff, SuspiciousModification):
            # pyHanko's (or our policy's) own words: an exception detail, left as it is
            report.changes.append(
                _("difference analysis: %(detail)s") % {"detail": str(diff).splitlines()[0]}
            )

    problems = []
    if not report.intact:
        problems.append(_("the signed bytes were altered (digest or signature mismatch)"))
    if status.coverage is not None and status.coverage < SignatureCoverageLevel.ENTIRE_REVISION:
        problems.append(_("the signature does not cover its whole revision"))
    if report.modification == "other":
        if described:
            detail = pgettext("list separator", ", ").join(described)
            problems.append(
                _("the document was changed after signing (%(changes)s)") % {"changes": detail}
            )
        else:
            problems.append(_("the document was changed after signing"))
    # When the bytes do not match, nothing else about the signer can be relied on, and a
    # trust failure that follows from it is not what went wrong: the mismatch leads, alone.
    if report.intact:
        if report.revoked:
            problems.append(_("the certificate is revoked"))
        elif not report.trusted:
            problems.append(_("the certificate does not chain to a trusted root"))
        if not is_ts and report.timestamp is None:
            problems.append(_("no signature timestamp"))
        elif report.timestamp_valid is False:
            problems.append(_("the timestamp is not valid or not trusted"))
    report.valid = not problems
    report.problem = join_problems(problems) or None
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
        sig,
        contexts.signer(when),
        ts_validation_context=ts_vc,
        diff_policy=_policy(sig.reader, sig),
    )
    if not (again.trusted and not again.revoked):
        return None
    report.validated_at_timestamp = True
    return again


async def _verify_raw(
    data: bytes, reader: PdfFileReader | None, item: Found, vc: ValidationContext
) -> SignatureReport:
    """A signature pyHanko cannot read (a legacy SubFilter, a structure it trips on, a file
    whose cross-references are broken), checked from its bytes (:mod:`signing.reading`)."""
    obj = item.sig_object
    report = SignatureReport(field_name=item.field_name, kind="signature")
    if obj is None:
        report.problem = _("could not be read: %(error)s") % {"error": item.error}
        return report
    if obj.get("/Type") == "/DocTimeStamp" or obj.get("/SubFilter") == "/ETSI.RFC3161":
        report.kind = "document_timestamp"
    for key, attr in (("/Name", "signer_name"), ("/Reason", "reason")):
        if obj.get(key) is not None:
            setattr(report, attr, str(obj.get(key)))
    check = await check_raw(data, obj, vc)
    if check.problem:
        report.problem = _("could not be checked: %(error)s") % {"error": check.problem}
        return report
    if check.signer is not None:
        parts = _name_parts(check.signer.subject)
        report.signer = report.position = parts["cn"]
        report.section, report.organisation = parts["ou"], parts["o"]
    report.intact, report.trusted = check.intact, check.trusted
    _raw_modification(data, reader, check, report)
    problems = []
    if not report.intact:
        problems.append(_("the signed bytes were altered (digest or signature mismatch)"))
    else:
        if check.weak:
            problems.append(
                _(
                    "signed over a %(digest)s digest (SubFilter %(subfilter)s), which no longer "
                    "protects against forgery"
                )
                % {"digest": check.weak, "subfilter": item.subfilter or obj.get("/SubFilter")}
            )
        if check.notes:
            problems.append(
                _(
                    "the signature holds %(n)s SignerInfos where a PDF signature has one "
                    "(the first was checked)"
                )
                % {"n": check.notes[0].split()[0]}
            )
        if not report.trusted:
            problems.append(_("the certificate does not chain to a trusted root"))
    if report.modification == "other":
        problems.append(
            _("the document was changed after signing (%(changes)s)")
            % {"changes": pgettext("list separator", ", ").join(report.changes)}
            if report.changes
            else _("the document was changed after signing")
        )
    report.valid = not problems
    report.problem = join_problems(problems) or None
    return report


def _raw_modification(
    data: bytes, reader: PdfFileReader | None, check: RawCheck, report: SignatureReport
) -> None:
    """What changed after a signature checked from its bytes: nothing when it covers the whole
    file; else our policy from its revision on, when the file's structure can be read."""
    if check.covers_whole_file:
        report.modification = "none"
        if reader is not None:
            report.revision = reader.xrefs.total_revisions - 1
        return
    if reader is None:
        report.changes = [
            _(
                "the file's cross-reference data is damaged, so what was changed after this "
                "signature cannot be checked"
            )
        ]
        return
    try:
        prefix = PdfFileReader(io.BytesIO(data[: check.end]), strict=False)
        revision = prefix.xrefs.total_revisions - 1
        report.revision = revision
        result = ANNOTATION_DIFF_POLICY.review_file(reader, revision)
    except Exception as e:
        report.changes = [_("could not be compared (%(name)s)") % {"name": _error(e)}]
        return
    level = None if isinstance(result, SuspiciousModification) else result.modification_level
    report.modification = _modification(level)
    report.modification_level = level.name if level is not None else None
    if report.modification == "other":
        report.changes = describe_changes(reader, revision)
