"""Shopware 6 app protocol core: signatures, the manifest and the checkout gateway mapping (no Flask)."""
