"""Payments: references, GiroCodes, statement parsing and matching (pure), plus import, review and effects."""
