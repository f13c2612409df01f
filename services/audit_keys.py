"""The audit keys: kept outside the database, so that database access alone cannot forge the log's evidence.

A key has an id, a secret for the keyed chain (HMAC-SHA-256) and an Ed25519 key pair that signs tree heads.
Keys live one JSON file each in a directory (`PROGRES_AUDIT_KEYS_DIR`; by default `audit-keys/` in the
data directory, for development). The newest key (or `PROGRES_AUDIT_KEY_ID`) signs and chains what is
written now; older keys stay to check what they signed: rotating is generating a new key, never deleting
an old one. `<id>.pub.json` holds the public half only: the file auditors keep to check heads.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from progres.services.settings import Settings


class KeyMissing(RuntimeError):
    """No audit key where the settings say: the application refuses to write an unchained event."""


@dataclass(frozen=True)
class PublicKey:
    key_id: str
    public: bytes

    def verify(self, signature: bytes, message: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True

    def to_json(self) -> dict[str, str]:
        return {"key_id": self.key_id, "ed25519_public": self.public.hex()}


@dataclass(frozen=True)
class AuditKey:
    key_id: str
    created: str
    mac_secret: bytes
    signing_seed: bytes

    @property
    def public(self) -> PublicKey:
        raw = Ed25519PrivateKey.from_private_bytes(self.signing_seed).public_key().public_bytes_raw()
        return PublicKey(self.key_id, raw)

    def sign(self, message: bytes) -> bytes:
        return Ed25519PrivateKey.from_private_bytes(self.signing_seed).sign(message)


@dataclass(frozen=True)
class Keyring:
    """Every key of a deployment; `active` chains and signs what is written now."""

    keys: dict[str, AuditKey]
    active: AuditKey

    def secrets(self) -> dict[str, bytes]:
        return {key_id: key.mac_secret for key_id, key in self.keys.items()}

    def public_keys(self) -> dict[str, PublicKey]:
        return {key_id: key.public for key_id, key in self.keys.items()}


def keys_dir(settings: Settings) -> Path:
    return settings.audit_keys_dir or settings.data_dir / "audit-keys"


def generate(directory: Path) -> AuditKey:
    """A new key, written 0600 in `directory`; it becomes the active key (the newest)."""
    seed, mac = secrets.token_bytes(32), secrets.token_bytes(32)
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
    key = AuditKey("k" + hashlib.sha256(public).hexdigest()[:15],
                   datetime.now(UTC).isoformat(timespec="microseconds"), mac, seed)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{key.key_id}.key.json"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump({"key_id": key.key_id, "created": key.created, "hmac_sha256": mac.hex(),
                   "ed25519_seed": seed.hex()}, handle)
    (directory / f"{key.key_id}.pub.json").write_text(json.dumps(key.public.to_json()) + "\n")
    return key


def load_keyring(settings: Settings, create: bool | None = None) -> Keyring:
    """The keys of the settings' directory. In development a first key is generated when there is none;
    in production a missing key is an error (the key is provisioned, not improvised)."""
    directory = keys_dir(settings)
    keys = {}
    for path in sorted(directory.glob("*.key.json")) if directory.is_dir() else []:
        data = json.loads(path.read_text())
        keys[data["key_id"]] = AuditKey(data["key_id"], data["created"], bytes.fromhex(data["hmac_sha256"]),
                                        bytes.fromhex(data["ed25519_seed"]))
    if not keys:
        if not (create if create is not None else settings.environment == "development"):
            raise KeyMissing(f"no audit key in {directory}: run `progres audit keygen` (PROGRES_AUDIT_KEYS_DIR)")
        key = generate(directory)
        keys[key.key_id] = key
    if settings.audit_key_id:
        if settings.audit_key_id not in keys:
            raise KeyMissing(f"audit key {settings.audit_key_id} is not in {directory}")
        active = keys[settings.audit_key_id]
    else:
        active = max(keys.values(), key=lambda k: k.created)
    return Keyring(keys, active)


def load_public_keys(paths: list[Path]) -> dict[str, PublicKey]:
    """Public keys an auditor trusts: `.pub.json` files, or directories holding them."""
    found: dict[str, PublicKey] = {}
    for path in paths:
        for file in sorted(path.glob("*.pub.json")) if path.is_dir() else [path]:
            data = json.loads(file.read_text())
            found[data["key_id"]] = PublicKey(data["key_id"], bytes.fromhex(data["ed25519_public"]))
    return found
