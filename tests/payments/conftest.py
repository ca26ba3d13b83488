"""Fixtures for the payment import tests: shops, the SMTP server and the base rate the handover tests use."""

from tests.dunning.conftest import smtp_server
from tests.handovers.conftest import _current_base_rate, shopware, woocommerce

__all__ = ["_current_base_rate", "shopware", "smtp_server", "woocommerce"]
