"""The verifier's precomputed-pad HMAC is HMAC-SHA-256 exactly (RFC 2104), for every key length."""

from __future__ import annotations

import hmac
import os

import pytest

from progres.services.audit_chain import hmac_pads


@pytest.mark.parametrize("length", [0, 1, 32, 63, 64, 65, 200])
def test_pads_give_hmac_digest(length):
    secret, message = os.urandom(length), os.urandom(88)
    inner_copy, outer_copy = hmac_pads(secret)
    inner, outer = inner_copy(), outer_copy()
    inner.update(message)
    outer.update(inner.digest())
    assert outer.digest() == hmac.digest(secret, message, "sha256")
    assert outer.digest() != hmac.digest(secret + b"x", message, "sha256")
