"""Data subjects' rights for one buyer of one merchant: access (Art. 15 GDPR) and erasure (Art. 17 GDPR)."""
