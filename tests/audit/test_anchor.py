"""Anchors: the chain head timestamped by the TSA; what forged or outdated anchors look like."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from django.core.management import call_command

from audit.models import AuditAnchor, AuditEntry, message
from audit.services import anchor_head
from signing.keystore import KeyStore
from signing.pki import CertificateAuthority
from signing.tsa import InternalTimeStamper
from tests.audit.conftest import check, run_verify_audit, some_entries, tampering

pytestmark = pytest.mark.django_db


def test_the_head_is_anchored_and_the_anchor_verifies(db, capsys):
    assert anchor_head() is None  # nothing to anchor yet
    entries = some_entries(3)
    anchor = anchor_head()
    assert anchor is not None
    assert (anchor.seq, bytes(anchor.hash)) == (3, bytes(entries[-1].hash))
    assert anchor_head() == anchor  # nothing new since: no second timestamp
    some_entries(2)
    call_command("anchor_audit")
    assert "5" in capsys.readouterr().out
    report = check()
    assert report.valid, report.as_dict()
    assert [(a.seq, a.valid) for a in report.anchors] == [(3, True), (5, True)]
    assert report.anchors[0].tsa  # the TSA certificate's name
    status, out = run_verify_audit()
    assert status == 0 and "3" in out


def test_an_anchor_for_another_hash_fails(db):
    some_entries(2)
    real = anchor_head()
    other = AuditEntry.objects.get(seq=1)
    # The token of entry 2 filed as an anchor of entry 1.
    AuditAnchor(
        seq=1, hash=bytes(other.hash), token=bytes(real.token), gen_time=real.gen_time
    ).save()
    report = check()
    assert report.problem is None and not report.valid
    forged = next(a for a in report.anchors if a.seq == 1)
    assert not forged.valid and "another hash" in (forged.problem or "")
    assert run_verify_audit()[0] == 1


def test_an_anchor_from_an_untrusted_tsa_fails(db, tmp_path: Path):
    some_entries(2)
    head = bytes(AuditEntry.objects.get(seq=2).hash)
    # A TSA of the forger's own making: same names, a different root.
    forger = KeyStore(CertificateAuthority(tmp_path / "forger", b"forger passphrase"))
    token = async_to_sync(InternalTimeStamper(forger.tsa()).async_timestamp)(head, "sha256")
    info = token["content"]["encap_content_info"]["content"].parsed
    AuditAnchor(seq=2, hash=head, token=token.dump(), gen_time=info["gen_time"].native).save()
    report = check()
    (anchor,) = report.anchors
    assert not anchor.valid and "trusted" in (anchor.problem or "")
    assert run_verify_audit()[0] == 1


def test_a_rewritten_chain_passes_its_own_links_but_not_the_anchor(db):
    """A database administrator changes entry 2 and recomputes every hash after it: the chain is
    consistent again, but the hash the TSA timestamped is gone."""
    some_entries(4)
    anchor_head()
    rows = list(AuditEntry.objects.order_by("seq"))
    prev = bytes(rows[0].prev_hash)
    with tampering() as cursor:
        for row in rows:
            data = '{"i":42}' if row.seq == 2 else row.data
            digest = hashlib.sha256(
                message(
                    prev,
                    row.seq,
                    row.at,
                    row.actor_id,
                    row.on_behalf_of_id,
                    row.action,
                    row.document_id,
                    row.document_version,
                    row.ip,
                    row.client,
                    data,
                )
            ).digest()
            cursor.execute(
                "UPDATE audit_auditentry SET data = %s, prev_hash = %s, hash = %s WHERE seq = %s",
                [data, prev, digest, row.seq],
            )
            prev = digest
        cursor.execute("UPDATE audit_audithead SET hash = %s WHERE id = 1", [prev])
    report = check()
    assert report.problem is None  # the links hold …
    (anchor,) = report.anchors
    assert not anchor.valid and "rewritten" in (anchor.problem or "")  # … the timestamp does not
    status, out = run_verify_audit()
    assert status == 1 and "4" in out


def test_cut_off_entries_with_a_rewound_head_are_found_by_the_anchor(db):
    """The last entries deleted and the head set back to match: the links hold, the anchor
    that covered the deleted entries does not."""
    some_entries(5)
    anchor_head()
    kept = AuditEntry.objects.get(seq=3)
    with tampering() as cursor:
        cursor.execute("DELETE FROM audit_auditentry WHERE seq > 3")
        cursor.execute(
            "UPDATE audit_audithead SET seq = 3, hash = %s WHERE id = 1", [bytes(kept.hash)]
        )
    report = check()
    assert report.problem is None and report.entries == 3
    (anchor,) = report.anchors
    assert not anchor.valid and "5" in (anchor.problem or "")
