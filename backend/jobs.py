"""Imports each area's periodic jobs so the worker knows them."""

from datetime import timedelta

from backend.auth.services import purge_expired_tokens
from backend.worker import periodic_job

periodic_job("purge-expired-tokens", every=timedelta(hours=1))(purge_expired_tokens)
