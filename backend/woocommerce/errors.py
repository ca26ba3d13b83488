"""Errors of the WooCommerce webhook endpoint."""

from backend.errors import AppError, UnauthorizedError


class InvalidWebhookSignatureError(UnauthorizedError):
    """The delivery's X-WC-Webhook-Signature does not match the connection's secret."""

    code = "invalid_signature"


class MalformedWebhookError(AppError):
    """A signed delivery whose headers or body are not what WooCommerce sends."""

    http_status = 400
    code = "malformed_webhook"
