"""Operating the backend: metrics, the doctor's checks, and re-encrypting stored secrets under a new key."""
