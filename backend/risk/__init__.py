"""Checkout risk check: policy, identity keys, offline signals and the decision engine (no Flask here)."""
