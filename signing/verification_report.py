"""What verification finds, as data: one report per signature or document timestamp and one for
the file (the API shape is `signing.api`'s). Texts in them are in the language active when the
report was made."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from django.utils.translation import pgettext

Modification = str  # "none" | "annotations" | "other"


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
    # What this signature covers that the one before it did not: the marks, fields and seals
    # added since, which this signer vouches for (not its own seal).
    covers: list[str] = field(default_factory=list)
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
    # What the revisions after the last signature or document timestamp change: signed by
    # nobody. Validation data alone is no change; anything else makes the record invalid.
    unsigned_changes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "problem": self.problem,
            "revisions": self.revisions,
            "unsigned_changes": self.unsigned_changes,
            "signatures": [s.as_dict() for s in self.signatures],
        }


def who(report: SignatureReport) -> str:
    if report.signer_name and report.position:
        return f"{report.position}（{report.signer_name}）"
    return report.position or report.signer_name or report.field_name


def join_problems(items: Iterable[str]) -> str:
    """Several problems in one line, in the active language."""
    return pgettext("separator between problems", "; ").join(items)
