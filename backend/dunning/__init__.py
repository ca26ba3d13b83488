"""Dunning under German law: receivables in default, claims, notices and handover to collection.

Flask-free legal core (no database, no I/O besides the bundled data files):

- ``backend.dunning.base_rates``: the §247 BGB base-rate table (``BaseRateTable``), bundled CSV plus rows
  the operator adds at run time.
- ``backend.dunning.claims``: default start (§286), default interest (§288) in rate segments, fees, the
  €40 business flat fee, §367 allocation of payments, limitation (§§195, 199) and ``claim_breakdown``.
- ``backend.dunning.schedule``: per-merchant dunning schedules for consumers and businesses, the rule that
  picks the next due stage (``next_stage``) and the handover date (``handover_ready_on``).
- ``backend.dunning.notices``: German and English notice e-mails rendered from plain ``NoticeContent``.
"""
