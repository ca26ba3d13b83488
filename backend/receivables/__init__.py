"""Receivables as the merchant sees them: lists with aging, history, the claim, disputes and stops."""
