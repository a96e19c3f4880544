"""Timestamps (タイムスタンプ, RFC 3161): the internal TSA and the client side.

* :class:`InternalTimeStamper` is a pyHanko ``TimeStamper`` that answers in process with the
  internal TSA's certificate (issued by our root, EKU timeStamping critical, ECDSA P-256).
* :func:`timestamp_response` is the same TSA over HTTP: it takes the body of an
  ``application/timestamp-query`` request and returns an ``application/timestamp-reply`` body
  (see :func:`signing.views.timestamp_view`).
* :func:`get_timestamper` picks the internal TSA, or pyHanko's ``HTTPTimeStamper`` when
  ``TSA_URL`` (settings ``SIGNING_TSA_URL``) is set, with ``TSA_USERNAME``/``TSA_PASSWORD``
  as HTTP basic auth.

Any failure to obtain a timestamp raises :class:`TimestampUnavailable`.
"""

from __future__ import annotations

import datetime as dt
import secrets
from functools import lru_cache
from typing import Any

from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.sign.general import as_signing_certificate_v2, simple_cms_attribute
from pyhanko.sign.timestamps import HTTPTimeStamper, TimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from . import conf
from .keystore import LoadedKey, get_keystore

# A UUID-based OID (2.25.<uuid>, ITU-T X.667): needs no registration.
TSA_POLICY_OID = "2.25.163994180317284349520470117520830089557"
ACCEPTED_DIGESTS = {"sha256", "sha384", "sha512"}


class TimestampUnavailable(Exception):
    """No timestamp could be obtained (TSA unreachable, refused, malformed answer…)."""


class _Guarded(TimeStamper):
    """Turns every failure of the timestamp round trip into :class:`TimestampUnavailable`."""

    async def async_timestamp(self, message_digest: bytes, md_algorithm: str) -> cms.ContentInfo:
        try:
            return await super().async_timestamp(message_digest, md_algorithm)
        except TimestampUnavailable:
            raise
        except (TimeoutError, TimestampRequestError, OSError, ValueError) as e:
            raise TimestampUnavailable(f"timestamp failed: {e}") from e
        except Exception as e:  # aiohttp.ClientError and friends
            raise TimestampUnavailable(f"timestamp failed: {type(e).__name__}: {e}") from e


def _granted(token: cms.ContentInfo) -> tsp.TimeStampResp:
    return tsp.TimeStampResp(
        {"status": tsp.PKIStatusInfo({"status": "granted"}), "time_stamp_token": token}
    )


class _StatusOnlyResp(core.Sequence):
    """TimeStampResp without a token (asn1crypto's class insists on one)."""

    _fields = [("status", tsp.PKIStatusInfo)]


class _LenientResp(core.Sequence):
    _fields = [
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]


def response_status(der: bytes) -> dict[str, Any]:
    """Status of a DER TimeStampResp, granted or not (asn1crypto's own class cannot load a
    response without a token): ``{"status": ..., "status_string": ..., "fail_info": ...}``."""
    return dict(_LenientResp.load(der)["status"].native)


def _rejection(fail_info: str, text: str) -> _StatusOnlyResp:
    return _StatusOnlyResp(
        {
            "status": tsp.PKIStatusInfo(
                {
                    "status": "rejection",
                    "status_string": [text],
                    "fail_info": tsp.PKIFailureInfo({fail_info}),
                }
            )
        }
    )


@lru_cache(maxsize=8)
def _static_parts(tsa: LoadedKey) -> tuple[bytes, bytes, bytes, bytes]:
    """DER of the parts that are the same in every token of one TSA key, encoded once:
    asn1crypto re-encodes certificates it is handed, which costs ~30 ms a token."""
    cert = tsa.asn1_certificate
    general_name = asn1_x509.GeneralName(name="directory_name", value=cert.subject).dump()
    signing_cert = simple_cms_attribute(
        "signing_certificate_v2", as_signing_certificate_v2(cert)
    ).dump()
    certs = cms.CertificateSet(
        [cms.CertificateChoices(name="certificate", value=c) for c in (cert, *tsa.chain)]
    ).dump()
    sid = cms.SignerIdentifier(
        {
            "issuer_and_serial_number": cms.IssuerAndSerialNumber(
                {"issuer": cert.issuer, "serial_number": cert.serial_number}
            )
        }
    ).dump()
    return general_name, signing_cert, certs, sid


def issue_token(
    tsa: LoadedKey, req: tsp.TimeStampReq, *, now: dt.datetime | None = None
) -> cms.ContentInfo:
    """Sign a TSTInfo for ``req`` with the internal TSA key (already parsed)."""
    imprint: tsp.MessageImprint = req["message_imprint"]
    general_name_der, signing_cert_der, certs_der, sid_der = _static_parts(tsa)
    now = now or dt.datetime.now(dt.UTC)
    tst_args: dict[str, Any] = {
        "version": "v1",
        "policy": req["req_policy"].native or TSA_POLICY_OID,
        "message_imprint": imprint,
        "serial_number": secrets.randbits(120),
        "gen_time": now,
        "accuracy": {"seconds": 1},
        "tsa": asn1_x509.GeneralName.load(general_name_der),
    }
    if req["nonce"].native is not None:
        tst_args["nonce"] = req["nonce"]
    tst_data = tsp.TSTInfo(tst_args).dump()

    digest_algo = "sha256"
    hash_spec = get_pyca_cryptography_hash(digest_algo)
    h = hashes.Hash(hash_spec)
    h.update(tst_data)
    signed_attrs = cms.CMSAttributes(
        [
            simple_cms_attribute("content_type", "tst_info"),
            simple_cms_attribute("signing_time", cms.Time({"utc_time": core.UTCTime(now)})),
            cms.CMSAttribute.load(signing_cert_der),
            simple_cms_attribute("message_digest", h.finalize()),
        ]
    )
    signature = tsa.private_key.sign(signed_attrs.dump(), ec.ECDSA(hash_spec))
    signer_info = cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier.load(sid_der),
            "digest_algorithm": algos.DigestAlgorithm({"algorithm": digest_algo}),
            "signature_algorithm": algos.SignedDigestAlgorithm(
                {"algorithm": f"{digest_algo}_ecdsa"}
            ),
            "signed_attrs": signed_attrs,
            "signature": signature,
        }
    )
    fields: dict[str, Any] = {
        "version": "v3",
        "digest_algorithms": [algos.DigestAlgorithm({"algorithm": digest_algo})],
        "encap_content_info": {
            "content_type": "tst_info",
            "content": cms.ParsableOctetString(tst_data),
        },
        "signer_infos": [signer_info],
    }
    if req["cert_req"].native:
        fields["certificates"] = cms.CertificateSet.load(certs_der)
    signed_data = cms.SignedData(fields)
    return cms.ContentInfo({"content_type": "signed_data", "content": signed_data})


def answer(tsa: LoadedKey, req: tsp.TimeStampReq) -> tsp.TimeStampResp | _StatusOnlyResp:
    imprint = req["message_imprint"]
    md = imprint["hash_algorithm"]["algorithm"].native
    if md not in ACCEPTED_DIGESTS:
        return _rejection("bad_alg", f"unsupported hash algorithm {md}")
    if len(imprint["hashed_message"].native) != get_pyca_cryptography_hash(md).digest_size:
        return _rejection("bad_data_format", "message imprint has the wrong length")
    policy = req["req_policy"].native
    if policy is not None and policy != TSA_POLICY_OID:
        return _rejection("unaccepted_policy", f"policy {policy} not offered")
    return _granted(issue_token(tsa, req))


class InternalTimeStamper(_Guarded):
    """The internal TSA, in process. Holds the parsed TSA key (no per-request parsing)."""

    def __init__(self, tsa: LoadedKey | None = None) -> None:
        super().__init__(include_nonce=True)
        self._tsa = tsa

    @property
    def tsa(self) -> LoadedKey:
        if self._tsa is None:
            self._tsa = get_keystore().tsa()
        return self._tsa

    def request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        resp = answer(self.tsa, req)
        if isinstance(resp, _StatusOnlyResp):
            raise TimestampUnavailable(f"internal TSA refused: {resp['status'].native}")
        return resp

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        return self.request_tsa_response(req)


class ExternalTimeStamper(_Guarded, HTTPTimeStamper):
    """pyHanko's HTTP timestamp client, with failures reported as TimestampUnavailable."""


def timestamp_response(request_body: bytes) -> bytes:
    """RFC 3161 over HTTP: DER ``TimeStampReq`` in, DER ``TimeStampResp`` out.

    A malformed or unacceptable request gets a ``rejection`` response (never an exception),
    as RFC 3161 asks.
    """
    try:
        req = tsp.TimeStampReq.load(request_body)
        req.native  # noqa: B018  (forces a full parse, so garbage is caught here)
    except Exception:
        return _rejection("bad_data_format", "not a DER TimeStampReq").dump()
    try:
        tsa = get_keystore().tsa()
    except Exception:
        resp = _StatusOnlyResp(
            {
                "status": tsp.PKIStatusInfo(
                    {
                        "status": "rejection",
                        "status_string": ["TSA unavailable"],
                        "fail_info": tsp.PKIFailureInfo({"system_failure"}),
                    }
                )
            }
        )
        return resp.dump()
    return answer(tsa, req).dump()


def get_timestamper() -> TimeStamper:
    """The configured TSA client: external (``TSA_URL``) or the internal one."""
    url = conf.tsa_url()
    if url:
        return ExternalTimeStamper(url, timeout=conf.tsa_timeout(), auth=conf.tsa_auth())
    return InternalTimeStamper()
