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
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from asn1crypto import x509 as asn1_x509
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESFailure, AdESIndeterminate
from pyhanko.sign.diff_analysis import (
    ModificationLevel,
    SuspiciousModification,
)
from pyhanko.sign.validation import async_validate_pdf_signature, async_validate_pdf_timestamp
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from .cms import run_sync
from .diffpolicy import ANNOTATION_DIFF_POLICY, describe_changes
from .keystore import KeyStore, get_keystore
from .trust import extra_trust_roots
from .trust import validation_context as build_vc

logger = logging.getLogger(__name__)
Modification = str  # "none" | "annotations" | "other"

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
        return VerificationReport(False, problem=_("not a readable PDF: %(error)s") % {"error": e})
    if reader.encrypted:
        return VerificationReport(
            False,
            problem=_("the PDF is encrypted; signed records must not be"),
            revisions=revisions,
        )
    try:
        sigs = list(reader.embedded_signatures)
    except Exception as e:
        return VerificationReport(
            False,
            problem=_("cannot read the signature fields: %(error)s") % {"error": e},
            revisions=revisions,
        )
    if not sigs:
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
        return VerificationReport(
            False,
            problem=_("verification failed: %(error)s") % {"error": e},
            revisions=revisions,
        )
    problem = None
    bad = [r for r in reports if not r.valid]
    if bad:
        problem = _problems(
            pgettext("signature field: its problem", "%(field)s: %(problem)s")
            % {"field": r.field_name, "problem": r.problem}
            for r in bad
        )
    return VerificationReport(not bad, reports, problem=problem, revisions=revisions)


def _problems(items: Iterable[str]) -> str:
    """Several problems in one line, in the active language."""
    return pgettext("separator between problems", "; ").join(items)


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
    if report.revoked:
        problems.append(_("the certificate is revoked"))
    elif not report.trusted:
        problems.append(_("the certificate does not chain to a trusted root"))
    if not is_ts and report.timestamp is None:
        problems.append(_("no signature timestamp"))
    elif report.timestamp_valid is False:
        problems.append(_("the timestamp is not valid or not trusted"))
    report.valid = not problems
    report.problem = _problems(problems) or None
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
