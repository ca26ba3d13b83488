"""Outbound clients for shops, credit bureaus and collection agencies (no Flask imports here).

- ``connectors.errors``: typed errors (``ConnectorError`` tree) built from responses and transport failures.
- ``connectors.http``: ``HttpClient`` base with timeouts, auth hook, safe retries and redacted logging.
- ``connectors.ssrf``: ``validate_public_url`` and the connect-time guard against private addresses.
- ``connectors.shops``: the ``ShopConnector`` interface with Shopware and WooCommerce implementations.
"""
