"""Dunning under German law: receivables in default, claims, notices and handover to collection.

Flask-free legal core (no database, no I/O besides the bundled data files):

- ``backend.dunning.base_rates``: the §247 BGB base-rate table (``BaseRateTable``), bundled CSV plus rows
  the operator adds at run time.
- ``backend.dunning.claims``: default start (§286), default interest (§288) in rate segments, fees, the
  €40 business flat fee, §367 allocation of payments, limitation (§§195, 199) and ``claim_breakdown``.
- ``backend.dunning.schedule``: per-merchant dunning schedules for consumers and businesses, the rule that
  picks the next due stage (``next_stage``) and the handover date (``handover_ready_on``).
- ``backend.dunning.notices``: German and English notice e-mails rendered from plain ``NoticeContent``.
- ``backend.dunning.girocode``: the EPC QR code (GiroCode) a notice carries and ``POST /girocodes`` serves.

With the database:

- ``rate_store``: stored base rates and the Bundesbank sync.
- ``merchant_settings``: schedules, payment details and language for notices, claim settings.
- ``receivable_claims``: a receivable's sent notices, its legal claim on a day, limitation.
- ``stops``: dunning stops on a buyer, and ``dunning_blocker`` (may this receivable be dunned now).
- ``evaluation``: the set-based due selection that queues notices (``queue_due_notices``).
- ``notice_building``: a notice rendered as of its sending day, as e-mail or as the plugin's payload.
- ``sending``: the e-mail worker (``send_queued_notices``) with retries and proof of sending.
- ``shop_channel``: notices the merchant's shop delivers itself (``send_shop_reminders``).
"""
