"""Encryption of secrets at rest (shop credentials) with rotatable Fernet keys."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app


class DecryptionError(Exception):
    """A stored secret cannot be decrypted with any configured key."""


def _cipher() -> MultiFernet:
    keys = current_app.config["CLAIMBRIDGE_ENCRYPTION_KEYS"]
    return MultiFernet([Fernet(key) for key in keys])


def encrypt_text(plaintext: str) -> str:
    """Encrypt a secret with the newest key."""
    return _cipher().encrypt(plaintext.encode()).decode()


def decrypt_text(token: str) -> str:
    """Decrypt a secret with whichever configured key encrypted it."""
    try:
        return _cipher().decrypt(token.encode()).decode()
    except InvalidToken as error:
        raise DecryptionError("stored secret cannot be decrypted with the configured keys") from error


def rotate_text(token: str) -> str:
    """Re-encrypt a stored secret with the newest key."""
    try:
        return _cipher().rotate(token.encode()).decode()
    except InvalidToken as error:
        raise DecryptionError("stored secret cannot be decrypted with the configured keys") from error


def hash_secret(secret: str) -> str:
    """Hash a high-entropy generated secret for storage (SHA-256 suffices: it is random, not a password)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str, stored_hash: str) -> bool:
    """Compare a presented secret with a stored hash in constant time."""
    return hmac.compare_digest(hash_secret(secret), stored_hash)


def new_secret(nbytes: int = 32) -> str:
    """Generate a URL-safe random secret."""
    return secrets.token_urlsafe(nbytes)
