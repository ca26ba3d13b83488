"""ClaimBridge backend: risk checks at checkout, receivables, dunning and collection handover."""

from backend.app import create_app

__all__ = ["create_app"]
