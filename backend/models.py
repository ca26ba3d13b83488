"""Imports every area's models so the metadata (and Alembic) sees all tables."""

from backend.audit.models import AuditEvent
from backend.auth.models import AccessToken
from backend.dunning.models import (
    BaseRateRecord,
    DunningBuyerStop,
    DunningNotice,
    DunningScheduleRecord,
    DunningStageRecord,
    ShopAction,
)
from backend.merchants.models import ApiClient, Merchant, ShopConnection
from backend.orders.models import OrderSyncRequest, Receivable, ReceivableEvent
from backend.risk.models import BuyerOverride, CreditReport, RiskCheck, RiskPolicyRecord
from backend.shopware.models import ShopwareEvent, ShopwareShop
from backend.woocommerce.models import WooCommerceWebhook
from backend.worker import JobLease

__all__ = [
    "AccessToken",
    "ApiClient",
    "AuditEvent",
    "BaseRateRecord",
    "BuyerOverride",
    "CreditReport",
    "DunningBuyerStop",
    "DunningNotice",
    "DunningScheduleRecord",
    "DunningStageRecord",
    "JobLease",
    "Merchant",
    "OrderSyncRequest",
    "Receivable",
    "ReceivableEvent",
    "RiskCheck",
    "RiskPolicyRecord",
    "ShopAction",
    "ShopConnection",
    "ShopwareEvent",
    "ShopwareShop",
    "WooCommerceWebhook",
]
