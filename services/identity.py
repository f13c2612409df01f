"""Who is acting: bearer tokens validated locally against the identity provider's keys (Keycloak's JWKS).

Rules: RS256 only; signature by the key named in the token (`kid`), keys cached and fetched again for an
unknown `kid` at most once per cooldown (a key rotation is followed without a restart); exact issuer;
audience; allowed authorised party (`azp`); `exp` and `nbf` with a leeway of at most 60 s. The acting
organisation is chosen per request and must be in the token's `organization` claim; the role must be one of
the user's realm roles. Every refusal has a stable code.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from progres.domain.organisations import Organisation
from progres.services.policy import Actor, Role

MAX_LEEWAY_SECONDS = 60
ALGORITHM = "RS256"
# A token verified once is taken again without verifying its signature for at most this long (and never past its
# `exp` with the leeway): under the JWKS key set's 60 s lifespan, so that a key the realm disables stops its tokens
# as soon as it would without the cache. Bounded: the oldest verified tokens leave first.
VERIFIED_SECONDS = 30.0
VERIFIED_TOKENS = 4096


class TokenRefused(Exception):
    """The request's identity cannot be trusted: answer 401 (or 403 for an organisation or role)."""

    def __init__(self, code: str, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


@dataclass(frozen=True)
class TokenRules:
    issuer: str
    audience: str
    allowed_azp: tuple[str, ...]
    leeway: int = 30

    def __post_init__(self) -> None:
        if not 0 <= self.leeway <= MAX_LEEWAY_SECONDS:
            raise ValueError(f"leeway must be between 0 and {MAX_LEEWAY_SECONDS} seconds")


class TokenValidator:
    def __init__(self, rules: TokenRules, jwks_url: str | None = None, cooldown_seconds: float = 10.0,
                 local_key: Any = None) -> None:
        self.rules = rules
        self.local_key = local_key  # local identity mode: the one key, no JWKS
        # The key set is cached (not single keys): a key the realm disables leaves with the next fetch.
        self.keys = jwt.PyJWKClient(jwks_url, cache_keys=False, lifespan=60, cooldown_duration=cooldown_seconds,
                                    timeout=10) if jwks_url else None
        self._verified: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()  # token: (until, claims)
        self._verified_lock = threading.Lock()

    def signing_key(self, token: str, kid: str | None) -> Any:
        if self.keys is None:
            if kid != LOCAL_KID:
                raise TokenRefused("unknown_key", "this token was not minted by this platform's local identity")
            return self.local_key
        try:
            return self.keys.get_signing_key_from_jwt(token).key
        except jwt.PyJWKClientError as error:
            raise TokenRefused("unknown_key", f"no key of the identity provider signs this token ({error})") from None

    def claims(self, token: str) -> dict[str, Any]:
        """The token's claims, once every rule holds; a token accepted a moment ago is taken again from memory
        (an RS256 verification is most of a small read's CPU): see VERIFIED_SECONDS. Refusals are not kept."""
        now = time.monotonic()
        with self._verified_lock:
            found = self._verified.get(token)
        if found is not None and now < found[0]:
            return found[1]
        claims = self.verified_claims(token)
        until = now + VERIFIED_SECONDS
        exp = claims.get("exp")
        if isinstance(exp, int | float):  # valid while now < exp + leeway (PyJWT's rule), on the wall clock
            until = min(until, now + (exp + self.rules.leeway - time.time()))
        with self._verified_lock:
            self._verified[token] = (until, claims)
            while len(self._verified) > VERIFIED_TOKENS:
                self._verified.popitem(last=False)
        return claims

    def verified_claims(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError:
            raise TokenRefused("malformed_token", "the bearer token is not a JWT") from None
        if header.get("alg") != ALGORITHM:
            raise TokenRefused("algorithm_refused",
                               f"only {ALGORITHM} tokens are accepted, not {shorten(header.get('alg'))}")
        key = self.signing_key(token, header.get("kid"))
        try:
            claims: dict[str, Any] = jwt.decode(
                token, key, algorithms=[ALGORITHM], audience=self.rules.audience, issuer=self.rules.issuer,
                leeway=self.rules.leeway, options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenRefused("token_expired", "the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise TokenRefused("token_not_yet_valid", "the token is not valid yet (nbf)") from None
        except jwt.InvalidIssuerError:
            raise TokenRefused("wrong_issuer", "the token was issued by another identity provider") from None
        except jwt.InvalidAudienceError:
            raise TokenRefused("wrong_audience", f"the token is not meant for {self.rules.audience}") from None
        except jwt.InvalidSignatureError:
            raise TokenRefused("bad_signature", "the token's signature does not match its content") from None
        except jwt.InvalidTokenError as error:
            raise TokenRefused("invalid_token", f"the token is not acceptable: {error}") from None
        check_claim_types(claims)
        if claims.get("azp") not in self.rules.allowed_azp:
            raise TokenRefused("azp_refused",
                               f"tokens obtained by client {shorten(claims.get('azp'))!r} are not accepted")
        return claims


NUMERIC_DATES = ("exp", "iat", "nbf")


def check_claim_types(claims: Mapping[str, Any]) -> None:
    """RFC 7519 NumericDates are JSON numbers (PyJWT also accepts numeric strings), and `realm_access` is an
    object whose `roles` are strings: a token of any other shape is refused with a code, never a 500."""
    for name in NUMERIC_DATES:
        value = claims.get(name)
        if name in claims and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise TokenRefused("invalid_token", f"the token's `{name}` claim is not a number")
    realm_access = claims.get("realm_access", {})
    roles = realm_access.get("roles", []) if isinstance(realm_access, dict) else None
    if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
        raise TokenRefused("invalid_token", "the token's `realm_access.roles` claim is not a list of roles")
    if not isinstance(claims.get("organization", []), list | dict):
        raise TokenRefused("invalid_token", "the token's `organization` claim is not a list or an object")


def shorten(text: str | None, limit: int = 40) -> str:
    """A short prefix of a value the client sent, for a message that names it."""
    text = str(text)
    return text if len(text) <= limit else text[:limit] + "…"


def organisations_of(claims: Mapping[str, Any]) -> set[str]:
    """Keycloak's `organization` claim: a list of aliases, or a map of alias to details."""
    value = claims.get("organization")
    if isinstance(value, list):
        return {str(v) for v in value}
    if isinstance(value, dict):
        return {str(k) for k in value}
    return set()


def actor_from_claims(claims: Mapping[str, Any], organisation: str | None, role: str | None) -> Actor:
    """The acting organisation (its SIRET, the alias of its Keycloak organisation) and role of a request."""
    if not organisation:
        raise TokenRefused("organisation_missing", "say which organisation acts (X-Progres-Organisation: SIRET)")
    if organisation not in organisations_of(claims):
        raise TokenRefused("organisation_not_in_token",
                           f"the user does not belong to organisation {shorten(organisation)}", status=403)
    granted = {r.value for r in Role} & set(claims.get("realm_access", {}).get("roles", []))
    if role is None and len(granted) == 1:
        role = next(iter(granted))
    if role is None or role not in granted:
        raise TokenRefused("role_not_in_token",
                           f"role {shorten(role)!r} is not one of the user's roles {sorted(granted)}", status=403)
    return Actor(str(Organisation.create_id(organisation)), Role(role))


# Local identity mode: the embedded default, with no identity provider.
LOCAL_ISSUER = "progres-local"
LOCAL_KID = "progres-local"
LOCAL_AZP = "progres-dev-token"
LOOPBACK = ("127.0.0.1", "::1", "localhost")


class LocalIssuer:
    """Mints development tokens with a key kept in the data directory (`progres dev-token`)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "identity" / "local-signing-key.pem"
        self._key: Any = None

    def private_key(self) -> Any:
        """Loaded once (loading checks the key, which costs milliseconds); created at first use."""
        if self._key is None:
            self._key = self._load_or_create()
        return self._key

    def _load_or_create(self) -> Any:
        if not self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            self.path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()))
            self.path.chmod(0o600)
        return serialization.load_pem_private_key(self.path.read_bytes(), password=None)

    def public_key(self) -> Any:
        return self.private_key().public_key()

    def mint(self, siret: str, roles: list[str], audience: str, lifetime_seconds: int = 8 * 3600) -> str:
        now = int(time.time())
        claims = {"iss": LOCAL_ISSUER, "aud": audience, "azp": LOCAL_AZP, "sub": f"local:{siret}", "iat": now,
                  "exp": now + lifetime_seconds, "organization": [siret], "realm_access": {"roles": roles}}
        return jwt.encode(claims, self.private_key(), algorithm=ALGORITHM, headers={"kid": LOCAL_KID})

    def validator(self, audience: str, leeway: int) -> TokenValidator:
        return TokenValidator(TokenRules(LOCAL_ISSUER, audience, (LOCAL_AZP,), leeway), local_key=self.public_key())
