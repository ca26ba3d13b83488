"""Errors of the merchant area that the generic tree in ``backend.errors`` does not cover."""

from backend.errors import AppError


class ShopUnreachableError(AppError):
    """The shop did not answer usably (refused, timed out, TLS failure, 5xx, rate limit): a bad gateway."""

    http_status = 502
    code = "shop_unreachable"
