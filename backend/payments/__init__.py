"""Payment matching core: payment references, GiroCodes, bank statement parsing and matching (no Flask here)."""
