"""The stored payment reference of each receivable: generated on first use, kept on the receivable."""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app

from backend.receivables.models import Receivable
from backend.receivables.reference_codes import make_reference

SALT_PURPOSE = "payment-reference:"


def reference_salt(merchant_id: int) -> bytes:
    """Return the merchant's reference key: HMAC(identity key, "payment-reference:" + merchant id)."""
    secret = current_app.config["CLAIMBRIDGE_IDENTITY_KEY"]
    return hmac.new(secret, f"{SALT_PURPOSE}{merchant_id}".encode(), hashlib.sha256).digest()


class ReferenceMaker:
    """Make the references of many receivables of one merchant (its key derived once); ``made`` lists them."""

    def __init__(self, merchant_id: int) -> None:
        self.merchant_id = merchant_id
        self.made: list[tuple[int, str]] = []
        self._salt: bytes | None = None

    def make(self, receivable_id: int) -> str:
        """Return a new receivable's reference and remember it as (receivable id, reference) in ``made``."""
        if self._salt is None:
            self._salt = reference_salt(self.merchant_id)
        reference = make_reference(receivable_id, self._salt)
        self.made.append((receivable_id, reference))
        return reference


def assign_payment_reference(receivable: Receivable) -> str:
    """Return the receivable's payment reference, generating and storing it on first use.

    Stored rather than recomputed: a reference printed on a notice must keep matching after a key change.
    """
    if receivable.payment_reference is None:
        receivable.payment_reference = make_reference(receivable.id, reference_salt(receivable.merchant_id))
    return receivable.payment_reference
