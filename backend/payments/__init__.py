"""Payments: references in remittance text, statement parsing and matching (pure), plus import, review and effects."""
