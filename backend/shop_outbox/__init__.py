"""The shop outboxes seen as one: what is parked (API, CLI, console), retrying and discarding it, their levels.

Three tables hold work for the shops, each written where its work arises and sent by its own worker:
``ShopUpdate`` (case fields, order notes, payment states, WooCommerce admin notices), ``ShopAction``
(notices the shop delivers itself) and ``OrderSyncRequest`` (orders to re-fetch). They share one retry
policy and one parked state (``backend.outbox``); this area is where a person finds and handles what is parked.
"""
