"""Handover to collection: proposals, the merchant's decisions, exactly-once submission, status mirrored back.

- ``rules``: the merchant's handover rules (minimum, auto-approval, agency, creditor address).
- ``readiness``: the gate, in SQL for the job (``candidate_selection``) and as reasons (``handover_blockers``).
- ``proposals``: claims frozen into ``proposed`` handovers (``propose_handovers``, ``propose_handover``).
- ``decisions``: the merchant's side: listing, approving, rejecting, withdrawing.
- ``case``: the frozen claim and the §13a RDG case built from it.
- ``submission``: the worker that hands approved handovers to their agency exactly once.
- ``mirroring``: the worker that reads case status and payments back from the agency.
- ``shop_updates``: writes to the shop about cases and payments, retried until acknowledged.
- ``leases``: how long these workers hold a row, and their backoff.
"""
