"""Imports every area's models so the metadata (and Alembic) sees all tables."""

from backend.audit.models import AuditEvent
from backend.auth.models import AccessToken
from backend.cases.models import AgencyCase, AgencyCaseEvent, AgencyCasePayment
from backend.console.models import ConsoleLink, ConsoleSessionNaming
from backend.dunning.models import (
    BaseRateRecord,
    DunningBuyerStop,
    DunningNotice,
    DunningScheduleRecord,
    DunningStageRecord,
    ShopAction,
)
from backend.handovers.models import Handover, HandoverPayment, HandoverRule, HandoverStatusUpdate, ShopUpdate
from backend.merchants.models import ApiClient, Merchant, RiskPolicyRecord, ShopConnection
from backend.orders.models import OrderSyncRequest
from backend.payments.models import BankTransactionRecord, ImportedStatement, KnownPayerIban, PaymentMatch
from backend.receivables.models import Receivable, ReceivableEvent
from backend.risk.models import BuyerOverride, CreditReport, RiskCheck
from backend.shopware.models import ShopwareEvent, ShopwareShop
from backend.woocommerce.models import WebhookTopic, WooCommerceConnectSession, WooCommerceWebhook
from backend.worker import JobLease

__all__ = [
    "AccessToken",
    "AgencyCase",
    "AgencyCaseEvent",
    "AgencyCasePayment",
    "ApiClient",
    "AuditEvent",
    "BankTransactionRecord",
    "BaseRateRecord",
    "BuyerOverride",
    "ConsoleLink",
    "ConsoleSessionNaming",
    "CreditReport",
    "DunningBuyerStop",
    "DunningNotice",
    "DunningScheduleRecord",
    "DunningStageRecord",
    "Handover",
    "HandoverPayment",
    "HandoverRule",
    "HandoverStatusUpdate",
    "ImportedStatement",
    "JobLease",
    "KnownPayerIban",
    "Merchant",
    "OrderSyncRequest",
    "PaymentMatch",
    "Receivable",
    "ReceivableEvent",
    "RiskCheck",
    "RiskPolicyRecord",
    "ShopAction",
    "ShopConnection",
    "ShopUpdate",
    "ShopwareEvent",
    "ShopwareShop",
    "WebhookTopic",
    "WooCommerceConnectSession",
    "WooCommerceWebhook",
]
