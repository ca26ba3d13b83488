"""WooCommerce shops: the webhook endpoint and the webhooks ClaimBridge registers in each shop."""
