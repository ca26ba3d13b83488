"""Errors of the Shopware endpoints, and the translation of the protocol core's exceptions into them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from backend.errors import NotFoundError, ServiceUnavailableError, UnauthorizedError, UserValueError
from backend.shopware.signing import (
    MalformedRequestError,
    MissingSignatureError,
    ShopwareAuthError,
    StaleTimestampError,
)


class InvalidSignatureError(UnauthorizedError):
    code = "invalid_signature"


class StaleRequestError(UnauthorizedError):
    code = "stale_timestamp"


class MalformedShopRequestError(UserValueError):
    code = "malformed_request"


class UnknownShopError(NotFoundError):
    code = "unknown_shop"


class AppNotConfiguredError(ServiceUnavailableError):
    code = "shopware_not_configured"


@contextmanager
def shop_request_errors() -> Iterator[None]:
    """Turn the protocol core's verification failures into 401 (signature, time) or 422 (form) errors."""
    try:
        yield
    except StaleTimestampError as error:
        raise StaleRequestError(str(error)) from error
    except MissingSignatureError as error:
        raise InvalidSignatureError(str(error), code="missing_signature") from error
    except MalformedRequestError as error:
        raise MalformedShopRequestError(str(error)) from error
    except ShopwareAuthError as error:
        raise InvalidSignatureError(str(error)) from error
