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
import hashlib
import secrets
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from asn1crypto import cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.sign.general import as_signing_certificate_v2, simple_cms_attribute
from pyhanko.sign.timestamps import HTTPTimeStamper, TimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from . import conf
from .fastpath import OCTET_STRING, SEQUENCE, SET, der_integer, der_oid, der_set_of, tlv
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


SHA256_ALGORITHM = bytes.fromhex("300d06096086480165030402010500")  # with NULL parameters
ECDSA_SHA256 = bytes.fromhex("300a06082a8648ce3d040302")
OID_SIGNED_DATA = der_oid("1.2.840.113549.1.7.2")
OID_TST_INFO = der_oid("1.2.840.113549.1.9.16.1.4")
OID_CONTENT_TYPE = der_oid("1.2.840.113549.1.9.3")
OID_MESSAGE_DIGEST = der_oid("1.2.840.113549.1.9.4")
OID_SIGNING_TIME = der_oid("1.2.840.113549.1.9.5")


def attribute(oid_der: bytes, *values: bytes) -> bytes:
    """A CMS Attribute: SEQUENCE { type, SET OF value }."""
    return tlv(SEQUENCE, oid_der, der_set_of(values))


@dataclass(frozen=True)
class _StaticParts:
    general_name: bytes  # [0] EXPLICIT GeneralName (directoryName) of the TSA
    signing_cert: bytes  # the signing-certificate-v2 attribute
    certificates: bytes  # [0] IMPLICIT SET OF Certificate: the TSA's and its chain
    sid: bytes  # IssuerAndSerialNumber
    default_policy: bytes


@lru_cache(maxsize=8)
def _static_parts(tsa: LoadedKey) -> _StaticParts:
    """DER of the parts that are the same in every token of one TSA key, encoded once:
    asn1crypto re-encodes certificates it is handed, which costs ~30 ms a token."""
    cert = tsa.asn1_certificate
    general_name = asn1_x509.GeneralName(name="directory_name", value=cert.subject).dump()
    signing_cert = simple_cms_attribute(
        "signing_certificate_v2", as_signing_certificate_v2(cert)
    ).dump()
    sid = cms.IssuerAndSerialNumber(
        {"issuer": cert.issuer, "serial_number": cert.serial_number}
    ).dump()
    certs = {c.dump() for c in (cert, *tsa.chain)}
    return _StaticParts(
        general_name=tlv(0xA0, general_name),
        signing_cert=signing_cert,
        certificates=der_set_of(certs, tag=0xA0),
        sid=sid,
        default_policy=der_oid(TSA_POLICY_OID),
    )


def token_der(
    tsa: LoadedKey,
    message_imprint: bytes,
    *,
    nonce: bytes | None = None,
    policy: bytes | None = None,
    include_certs: bool = True,
    now: dt.datetime | None = None,
) -> tuple[bytes, dt.datetime]:
    """A DER TimeStampToken (CMS SignedData over a TSTInfo) for the DER ``message_imprint``,
    assembled from pre-encoded parts; ``nonce`` and ``policy`` are DER INTEGER / OID.
    Returns the token and its genTime."""
    parts = _static_parts(tsa)
    now = now or dt.datetime.now(dt.UTC)
    tst_info = tlv(
        SEQUENCE,
        b"\x02\x01\x01",  # version v1
        policy or parts.default_policy,
        message_imprint,
        der_integer(secrets.randbits(120)),
        core.GeneralizedTime(now).dump(),
        b"\x30\x03\x02\x01\x01",  # accuracy: 1 second
        nonce or b"",
        parts.general_name,
    )
    signed_attrs = [
        attribute(OID_CONTENT_TYPE, OID_TST_INFO),
        attribute(OID_SIGNING_TIME, core.UTCTime(now).dump()),
        parts.signing_cert,
        attribute(OID_MESSAGE_DIGEST, tlv(OCTET_STRING, hashlib.sha256(tst_info).digest())),
    ]
    signature = tsa.private_key.sign(der_set_of(signed_attrs), ec.ECDSA(hashes.SHA256()))
    signer_info = tlv(
        SEQUENCE,
        b"\x02\x01\x01",  # version v1
        parts.sid,
        SHA256_ALGORITHM,
        der_set_of(signed_attrs, tag=0xA0),
        ECDSA_SHA256,
        tlv(OCTET_STRING, signature),
    )
    signed_data = tlv(
        SEQUENCE,
        b"\x02\x01\x03",  # version v3 (encapsulated content is not id-data)
        tlv(SET, SHA256_ALGORITHM),
        tlv(SEQUENCE, OID_TST_INFO, tlv(0xA0, tlv(OCTET_STRING, tst_info))),
        parts.certificates if include_certs else b"",
        tlv(SET, signer_info),
    )
    return tlv(SEQUENCE, OID_SIGNED_DATA, tlv(0xA0, signed_data)), now


def issue_token(
    tsa: LoadedKey, req: tsp.TimeStampReq, *, now: dt.datetime | None = None
) -> cms.ContentInfo:
    """Sign a TSTInfo for ``req`` with the internal TSA key (already parsed)."""
    nonce = req["nonce"]
    policy = req["req_policy"]
    der, _ = token_der(
        tsa,
        req["message_imprint"].dump(),
        nonce=nonce.dump() if nonce.native is not None else None,
        policy=policy.dump() if policy.native is not None else None,
        include_certs=bool(req["cert_req"].native),
        now=now,
    )
    return cms.ContentInfo.load(der)


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
        self.last_time: dt.datetime | None = None

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

    async def async_timestamp(self, message_digest: bytes, md_algorithm: str) -> cms.ContentInfo:
        """In process there is no request to build, send and match: the token is assembled
        directly (no nonce: nothing travels over a network)."""
        if md_algorithm != "sha256" or len(message_digest) != 32:
            return await super().async_timestamp(message_digest, md_algorithm)
        try:
            tsa = self.tsa
            imprint = tlv(SEQUENCE, SHA256_ALGORITHM, tlv(OCTET_STRING, message_digest))
            der, self.last_time = token_der(tsa, imprint)
        except Exception as e:
            raise TimestampUnavailable(f"internal TSA failed: {type(e).__name__}: {e}") from e
        return cms.ContentInfo.load(der)


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
