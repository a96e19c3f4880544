"""Validation contexts: our root and certificates, our CRL, never a fetch.

Each context is built from trust anchors, certificates and a CRL parsed once per change of the
PKI directory (:meth:`KeyStore.trust`); the expensive parts (trust managers, certificate
registries) are built once per trust state and shared.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import (
    CertificateRegistry,
    SimpleTrustManager,
)

from . import conf, fastpath
from .keystore import KeyStore, TrustState, get_keystore

fastpath.install()


_tm_lock = threading.Lock()
_trust_managers: dict[tuple[int, tuple[bytes, ...]], tuple[TrustState, SimpleTrustManager]] = {}


def _trust_manager(trust: TrustState, extra_roots: tuple[Any, ...]) -> SimpleTrustManager:
    """Trust anchors of one trust state (+ extra roots), built once: they never change."""
    extra_der = tuple(r.dump() for r in extra_roots)
    key = (id(trust), extra_der)
    hit = _trust_managers.get(key)
    if hit is not None and hit[0] is trust:
        return hit[1]
    manager = SimpleTrustManager.build(trust_roots=[trust.root, *extra_roots])
    with _tm_lock:
        if len(_trust_managers) > 32:
            _trust_managers.clear()
        _trust_managers[key] = (trust, manager)
    return manager


_registries: dict[int, tuple[TrustState, CertificateRegistry]] = {}


def _registry(trust: TrustState) -> CertificateRegistry:
    """A certificate registry holding every certificate of ``trust``, as a private copy.

    Registering a certificate computes its names' comparison keys: ~30 µs each, so 17 ms per
    context with 500 posts. The registry is built once per trust state and each context gets a
    shallow copy of its indexes (pyHanko adds the certificates it finds in a signature to the
    context's registry, so contexts must not share one)."""
    hit = _registries.get(id(trust))
    if hit is None or hit[0] is not trust:
        template = CertificateRegistry.build(trust.certificates)
        with _tm_lock:
            if len(_registries) > 8:
                _registries.clear()
            _registries[id(trust)] = (trust, template)
    else:
        template = hit[1]
    try:
        copy = CertificateRegistry()
        copy.certs = dict(template.certs)
        for name in ("_subject_map", "_key_identifier_map", "_key_hash_map"):
            index: defaultdict[Any, list[Any]] = defaultdict(list)
            index.update((k, list(v)) for k, v in getattr(template, name).items())
            setattr(copy, name, index)
        return copy
    except AttributeError:  # pragma: no cover - another pyhanko-certvalidator
        return CertificateRegistry.build(trust.certificates)


def validation_context(
    store: KeyStore | None = None,
    *,
    extra_roots: Iterable[Any] = (),
    revocation_mode: str = "require",
    moment: dt.datetime | None = None,
    retroactive_revinfo: bool = False,
) -> ValidationContext:
    """Trust our root (+ ``extra_roots``), know our certificates and current CRL, never fetch.

    ``require`` (the default) demands revocation information for every certificate below the
    root: right for our own chain, whose CRL is always at hand (our certificates need no CRL
    distribution point for this). Foreign chains (extra roots, an external TSA) cannot be
    checked without fetching: use ``soft-fail`` for them.

    ``moment`` validates at a point in the past (e.g. a trusted timestamp's time, as proof of
    existence): a certificate revoked *after* it is still good then. Our CRL is issued later
    than such a moment, hence ``retroactive_revinfo`` (the CRL is taken to speak for the past).

    A new context each call (pyHanko's contexts accumulate state), built from parts that are
    parsed once per change of the PKI directory (:meth:`KeyStore.trust`).
    """
    store = store or get_keystore()
    trust = store.trust()
    return ValidationContext(
        trust_manager=_trust_manager(trust, tuple(extra_roots)),
        certificate_registry=_registry(trust),
        crls=[trust.crl],
        allow_fetching=False,
        revocation_mode=revocation_mode,
        moment=moment,
        retroactive_revinfo=retroactive_revinfo,
    )


def extra_trust_roots() -> list[Any]:
    """Further trust roots from the settings (e.g. an LGPKI root), for foreign chains."""
    from pyhanko.keys import load_certs_from_pemder

    files = [str(p) for p in conf.extra_trust_root_files()]
    return list(load_certs_from_pemder(files)) if files else []
