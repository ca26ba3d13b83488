import io
from datetime import date, timedelta
from decimal import Decimal

import pytest

from backend.payments.matching import (
    Allocation,
    MatchRule,
    MatchSettings,
    OpenReceivable,
    PaymentMatcher,
    comparable_name,
    match_payments,
    name_similarity,
)
from backend.payments.statements import BankTransaction, CreditDebit, parse_camt053, parse_mt940
from backend.receivables.reference_codes import make_reference
from tests.payments.generate import evaluate, generate_set, write_camt053, write_mt940

SALT = b"merchant-one-salt-0123456789abcd"
ANNA_IBAN = "DE89370400440532013000"


def receivable(receivable_id: int, amount: str, name: str = "Anna Schmidt", **overrides) -> OpenReceivable:
    values = {
        "id": receivable_id,
        "payment_reference": make_reference(receivable_id, SALT),
        "invoice_number": f"RE-{10_000 + receivable_id}",
        "order_number": str(500_000 + receivable_id),
        "open_amount": Decimal(amount),
        "currency": "EUR",
        "debtor_names": (name,),
        "known_ibans": frozenset(),
        "due_date": date(2024, 3, 1) + timedelta(days=receivable_id),
    }
    return OpenReceivable(**(values | overrides))


_counter = iter(range(1, 1_000_000))


def credit(amount: str, remittance: str = "", name: str = "Anna Schmidt", **overrides) -> BankTransaction:
    values = {
        "transaction_id": f"tx-{next(_counter)}",
        "account": "DE02120300000000202051",
        "statement_id": "S1",
        "bank_reference": "",
        "booking_date": date(2024, 3, 13),
        "value_date": None,
        "amount": Decimal(amount),
        "currency": "EUR",
        "credit_debit": CreditDebit.CREDIT,
        "reversal": False,
        "booked": True,
        "counterparty_name": name,
        "counterparty_iban": "",
        "remittance": remittance,
        "end_to_end_id": "",
        "creditor_reference": "",
        "additional_info": "",
    }
    return BankTransaction(**(values | overrides))


def only(proposals):
    assert len(proposals) == 1
    return proposals[0]


def allocated(proposal) -> dict:
    return {allocation.receivable_id: allocation.amount for allocation in proposal.allocations}


# A crowd of other buyers, so that matches are not trivially unique.
CROWD = [
    receivable(100 + n, f"{20 + n}.99", name)
    for n, name in enumerate(
        ["Jonas Weber", "Lea Koch", "Paul Becker", "Mia Wolf", "Schmidt Elektro GmbH"] * 4
    )
]


class TestNames:
    @pytest.mark.parametrize(
        ("payer", "debtor"),
        [
            ("MUELLER, ANNA", "Anna Müller"),
            ("Anna Muller", "Anna Müller"),
            ("Frau Dr. Anna Müller", "Anna Müller"),
            ("Mueller Haustechnik GmbH & Co. KG", "Müller Haustechnik GmbH"),
            ("Anna-Maria Schmidt", "Schmidt, Anna Maria"),
            ("Anna Schmdit", "Anna Schmidt"),
            ("LUKASZ WOJCIK", "Łukasz Wójcik"),
            ("Jürgen Strauß", "JUERGEN STRAUSS"),
        ],
    )
    def test_recognises_the_same_person_however_written(self, payer, debtor):
        assert name_similarity(comparable_name(payer), comparable_name(debtor)) >= 85

    @pytest.mark.parametrize(
        ("payer", "debtor"), [("Hans Schmidt", "Anna Schmidt"), ("Schmidt", "Anna Schmidt")]
    )
    def test_keeps_different_people_apart(self, payer, debtor):
        assert name_similarity(comparable_name(payer), comparable_name(debtor)) < 85


class TestReferenceRule:
    def test_settles_the_receivable_named_by_its_reference(self):
        target = receivable(1, "119.90")
        reference = target.payment_reference.lower().replace("-", " ")

        proposal = only(
            match_payments([credit("119.90", f"Danke {reference}", name="Unknown")], [target, *CROWD])
        )

        assert proposal.rule is MatchRule.REFERENCE
        assert proposal.automatic
        assert proposal.confidence >= 0.99
        assert allocated(proposal) == {1: Decimal("119.90")}
        assert target.payment_reference in proposal.explanation

    def test_finds_the_reference_in_the_end_to_end_id(self):
        target = receivable(1, "119.90")
        transfer = credit("119.90", "", end_to_end_id=target.payment_reference.replace("-", ""))

        assert allocated(only(match_payments([transfer], [target]))) == {1: Decimal("119.90")}

    def test_applies_a_part_payment_quoting_the_reference(self):
        target = receivable(1, "119.90")

        proposal = only(match_payments([credit("50.00", f"Rate 1 {target.payment_reference}")], [target]))

        assert proposal.automatic
        assert allocated(proposal) == {1: Decimal("50.00")}
        assert proposal.unallocated == 0

    def test_leaves_an_overpayment_unallocated_and_asks_for_review(self):
        target = receivable(1, "119.90")

        proposal = only(match_payments([credit("300.00", target.payment_reference)], [target]))

        assert allocated(proposal) == {1: Decimal("119.90")}
        assert proposal.unallocated == Decimal("180.10")
        assert not proposal.automatic

    def test_does_not_apply_a_second_transfer_for_a_settled_receivable(self):
        target = receivable(1, "119.90")
        first = credit("119.90", target.payment_reference)
        second = credit("119.90", target.payment_reference)

        proposals = match_payments([first, second], [target])

        assert proposals[0].automatic
        assert not proposals[1].automatic
        assert proposals[1].allocations == ()


class TestNumberRule:
    @pytest.mark.parametrize("text", ["Rechnung 10001", "RE-10001", "re10001 danke", "Rg.Nr.:10001"])
    def test_settles_by_invoice_number_when_the_amount_fits(self, text):
        proposal = only(match_payments([credit("49.90", text, name="X")], [receivable(1, "49.90"), *CROWD]))

        assert proposal.rule is MatchRule.INVOICE_NUMBER
        assert proposal.automatic
        assert allocated(proposal) == {1: Decimal("49.90")}

    def test_settles_by_order_number(self):
        proposal = only(match_payments([credit("49.90", "Bestellung 500001")], [receivable(1, "49.90")]))

        assert proposal.rule is MatchRule.ORDER_NUMBER
        assert proposal.automatic

    def test_does_not_read_a_longer_number_as_the_invoice_number(self):
        proposal = only(
            match_payments([credit("49.90", "Kundennummer 100012", name="X")], [receivable(1, "49.90")])
        )

        assert proposal.rule is not MatchRule.INVOICE_NUMBER

    def test_a_number_with_a_different_amount_and_unknown_payer_goes_to_review(self):
        proposal = only(
            match_payments([credit("20.00", "Rechnung 10001", name="Otto Gross")], [receivable(1, "49.90")])
        )

        assert allocated(proposal) == {1: Decimal("20.00")}
        assert not proposal.automatic

    def test_a_number_with_a_part_amount_from_the_debtor_is_applied(self):
        proposal = only(match_payments([credit("20.00", "Rechnung 10001")], [receivable(1, "49.90")]))

        assert proposal.automatic
        assert allocated(proposal) == {1: Decimal("20.00")}


class TestAmountAndPayerRule:
    def test_settles_by_exact_amount_and_similar_name(self):
        proposal = only(
            match_payments([credit("77.45", "Danke", name="SCHMIDT, ANNA")], [receivable(1, "77.45"), *CROWD])
        )

        assert proposal.rule is MatchRule.AMOUNT_NAME
        assert proposal.automatic
        assert allocated(proposal) == {1: Decimal("77.45")}

    def test_settles_by_amount_and_an_iban_paid_from_before(self):
        target = receivable(1, "77.45", known_ibans=frozenset({ANNA_IBAN}))
        transfer = credit("77.45", "", name="Hans Schmidt", counterparty_iban=ANNA_IBAN)

        proposal = only(match_payments([transfer], [target, *CROWD]))

        assert proposal.rule is MatchRule.AMOUNT_IBAN
        assert proposal.automatic

    def test_settles_an_amount_short_by_bank_fees_with_a_known_iban(self):
        target = receivable(1, "250.00", known_ibans=frozenset({ANNA_IBAN}))
        transfer = credit("242.50", "", counterparty_iban=ANNA_IBAN)

        proposal = only(match_payments([transfer], [target, *CROWD]))

        assert proposal.automatic
        assert allocated(proposal) == {1: Decimal("242.50")}
        assert "bank fees" in proposal.explanation

    def test_an_iban_that_paid_a_named_receivable_counts_for_the_buyers_others_in_the_same_run(self):
        # Paid from her husband's account: the name alone would not do.
        first, second = receivable(1, "40.00", buyer="anna"), receivable(2, "250.00", buyer="anna")
        by_reference = credit(
            "40.00", first.payment_reference, name="Hans Schmidt", counterparty_iban=ANNA_IBAN
        )
        short_by_fees = credit("242.50", "Danke", name="Hans Schmidt", counterparty_iban=ANNA_IBAN)

        proposals = match_payments([short_by_fees, by_reference], [first, second, *CROWD])

        assert [p.automatic for p in proposals] == [True, True]
        assert allocated(proposals[0]) == {2: Decimal("242.50")}
        assert proposals[0].rule is MatchRule.AMOUNT_IBAN

    def test_an_iban_that_pays_for_many_buyers_is_not_learned_as_any_buyers(self):
        # A payment service forwarding every buyer's money, each transfer naming the receivable.
        service_iban = "DE02100100109307118603"
        firsts = [receivable(n, "40.00", name=f"Buyer {n}", buyer=f"b{n}") for n in range(1, 31)]
        seconds = [
            receivable(100 + n, f"{60 + n}.00", name=f"Buyer {n}", buyer=f"b{n}") for n in range(1, 31)
        ]
        named = [
            credit("40.00", first.payment_reference, name="PayService", counterparty_iban=service_iban)
            for first in firsts
        ]
        unnamed = credit("90.00", "Danke", name="PayService", counterparty_iban=service_iban)

        proposals = match_payments([*named, unnamed], [*firsts, *seconds])

        assert all(proposal.automatic for proposal in proposals[:-1])
        assert not proposals[-1].automatic  # buyer 30's open 90.00, but from everyone's IBAN

    def test_an_iban_is_not_learned_from_a_match_by_name_and_amount(self):
        by_name = credit("40.00", "Danke", counterparty_iban=ANNA_IBAN)
        short_by_fees = credit("242.50", "Danke", name="Hans Schmidt", counterparty_iban=ANNA_IBAN)
        receivables = [receivable(1, "40.00", buyer="anna"), receivable(2, "250.00", buyer="anna"), *CROWD]

        proposals = match_payments([by_name, short_by_fees], receivables)

        assert proposals[0].automatic
        assert not proposals[1].automatic

    @pytest.mark.parametrize(
        ("paid", "open_amount"), [("100.00", "99.50"), ("45.80", "45.00"), ("100.00", "99.95")]
    )
    def test_an_amount_over_the_open_one_from_a_known_iban_goes_to_review(self, paid, open_amount):
        # The buyer may be paying an invoice already paid, or an order we do not track: proposing it is safe,
        # booking it to this receivable and losing the rest from every queue is not.
        target = receivable(1, open_amount, known_ibans=frozenset({ANNA_IBAN}))
        transfer = credit(paid, "", counterparty_iban=ANNA_IBAN)

        proposal = only(match_payments([transfer], [target, *CROWD]))

        assert not proposal.automatic
        assert allocated(proposal) == {1: Decimal(open_amount)}

    @pytest.mark.parametrize("paid", ["197.38", "196.90"])
    def test_a_near_amount_that_may_be_a_part_of_another_invoice_of_the_payer_goes_to_review(self, paid):
        known = frozenset({ANNA_IBAN})
        near = receivable(1, "197.16", known_ibans=known)
        larger = receivable(2, "394.75", known_ibans=known)
        transfer = credit(paid, "Erste Rate", counterparty_iban=ANNA_IBAN)

        proposal = only(match_payments([transfer], [near, larger, *CROWD]))

        assert not proposal.automatic
        assert set(allocated(proposal)) == {1}
        assert 2 in proposal.alternatives

    def test_a_near_amount_beside_an_exact_sum_of_the_payers_open_receivables_goes_to_review(self):
        known = {"known_ibans": frozenset({ANNA_IBAN})}
        near = receivable(1, "644.39", **known)  # short by 7.66, which bank fees would explain
        parts = [
            receivable(2, "246.65", **known),
            receivable(3, "129.99", **known),
            receivable(4, "260.09", **known),
        ]
        transfer = credit("636.73", "", counterparty_iban=ANNA_IBAN)

        proposal = only(match_payments([transfer], [near, *parts, *CROWD]))

        assert not proposal.automatic
        assert "fits exactly" in proposal.explanation

    def test_a_rounded_up_amount_by_name_alone_goes_to_review(self):
        proposal = only(match_payments([credit("100.00", "")], [receivable(1, "99.95"), *CROWD]))

        assert not proposal.automatic
        assert allocated(proposal) == {1: Decimal("99.95")}

    def test_a_name_and_amount_of_somebody_else_is_not_applied(self):
        proposal = only(match_payments([credit("77.45", "", name="Hans Schmidt")], [receivable(1, "77.45")]))

        assert not proposal.automatic

    def test_two_equally_likely_receivables_go_to_review(self):
        first, second = receivable(1, "29.99"), receivable(2, "29.99")

        proposal = only(match_payments([credit("29.99", "Bestellung")], [first, second, *CROWD]))

        assert proposal.ambiguous
        assert not proposal.automatic
        assert {1, 2} <= set(proposal.alternatives) | {a.receivable_id for a in proposal.allocations}

    def test_ambiguity_is_never_applied_whatever_the_threshold(self):
        settings = MatchSettings(auto_threshold=0.1)

        proposal = only(
            match_payments([credit("29.99")], [receivable(1, "29.99"), receivable(2, "29.99")], settings)
        )

        assert not proposal.automatic

    def test_a_part_payment_by_name_alone_goes_to_review(self):
        proposal = only(match_payments([credit("30.00", "erste Rate")], [receivable(1, "90.00"), *CROWD]))

        assert allocated(proposal) == {1: Decimal("30.00")}
        assert not proposal.automatic

    def test_ignores_an_iban_that_many_buyers_share(self):
        provider_iban = "DE44500105175407324931"
        receivables = [
            receivable(n, "10.00", f"Buyer {n}", known_ibans=frozenset({provider_iban})) for n in range(1, 40)
        ]
        transfer = credit("10.00", "", name="Payment Provider", counterparty_iban=provider_iban)

        assert not only(match_payments([transfer], receivables)).automatic

    def test_ignores_receivables_in_another_currency(self):
        proposal = only(
            match_payments([credit("77.45", "", currency="EUR")], [receivable(1, "77.45", currency="CHF")])
        )

        assert proposal.rule is MatchRule.UNMATCHED


class TestSeveralReceivables:
    def test_one_transfer_quoting_several_references_settles_all(self):
        targets = [receivable(1, "19.90"), receivable(2, "30.10"), receivable(3, "5.00")]
        text = "Sammelzahlung " + " ".join(t.payment_reference for t in targets)

        proposal = only(match_payments([credit("55.00", text)], [*targets, *CROWD]))

        assert proposal.automatic
        assert proposal.rule is MatchRule.REFERENCE
        assert allocated(proposal) == {1: Decimal("19.90"), 2: Decimal("30.10"), 3: Decimal("5.00")}

    def test_one_transfer_quoting_several_invoice_numbers_settles_all(self):
        targets = [receivable(1, "19.90"), receivable(2, "30.10")]

        proposal = only(match_payments([credit("50.00", "Rechnungen RE-10001, RE-10002")], targets))

        assert proposal.automatic
        assert allocated(proposal) == {1: Decimal("19.90"), 2: Decimal("30.10")}

    def test_less_than_the_sum_pays_the_oldest_due_first_and_goes_to_review(self):
        targets = [receivable(2, "30.00"), receivable(1, "20.00")]
        text = " ".join(t.payment_reference for t in targets)

        proposal = only(match_payments([credit("35.00", text)], targets))

        assert allocated(proposal) == {1: Decimal("20.00"), 2: Decimal("15.00")}
        assert not proposal.automatic

    def test_amount_equal_to_the_sum_of_one_buyers_open_receivables(self):
        buyer = [
            receivable(n, amount, known_ibans=frozenset({ANNA_IBAN}))
            for n, amount in ((1, "10.00"), (2, "25.50"), (3, "99.00"))
        ]
        transfer = credit("35.50", "Rechnungen", counterparty_iban=ANNA_IBAN)

        proposal = only(match_payments([transfer], [*buyer, *CROWD]))

        assert proposal.rule is MatchRule.SUM_OF_OPEN
        assert proposal.automatic
        assert allocated(proposal) == {1: Decimal("10.00"), 2: Decimal("25.50")}


class TestSafety:
    def test_a_reference_that_is_no_longer_open_blocks_automatic_matching(self):
        paid_long_ago = make_reference(99_999, SALT)
        open_one = receivable(1, "49.90", known_ibans=frozenset({ANNA_IBAN}))
        transfer = credit("49.90", f"Rechnung {paid_long_ago}", counterparty_iban=ANNA_IBAN)

        proposal = only(match_payments([transfer], [open_one]))

        assert not proposal.automatic
        assert paid_long_ago in proposal.explanation

    def test_a_second_payment_quoting_a_settled_reference_is_not_guessed_elsewhere(self):
        settled, other = receivable(1, "49.90"), receivable(2, "20.00")
        first = credit("49.90", settled.payment_reference)
        second = credit("20.00", settled.payment_reference)

        proposals = match_payments([first, second], [settled, other])

        assert proposals[0].automatic
        assert not proposals[1].automatic
        assert settled.payment_reference in proposals[1].explanation

    def test_a_number_pointing_elsewhere_than_amount_and_payer_goes_to_review(self):
        stranger = receivable(1, "500.00", "Otto Gross")
        anna = receivable(2, "77.45")

        proposal = only(match_payments([credit("77.45", "Kunde 10001")], [stranger, anna]))

        assert not proposal.automatic
        assert proposal.ambiguous

    @pytest.mark.parametrize("named_amount", ["119.00", "200.00"])
    def test_a_valid_reference_against_payer_and_exact_amount_of_another_goes_to_review(self, named_amount):
        # Jonas Becker's reference is on the transfer, but Anna Schmidt paid exactly her open 119.00: whether
        # Jonas's invoice is open for the same amount (reference fit "equal", 0.99) or for more (a "part
        # payment", 0.95), applying it to Jonas would leave Anna dunned for a paid invoice.
        jonas = receivable(1, named_amount, "Jonas Becker")
        anna = receivable(2, "119.00", "Anna Schmidt")
        transfer = credit("119.00", f"Rechnung {jonas.payment_reference}", name="Anna Schmidt")

        proposal = only(match_payments([transfer], [jonas, anna]))

        assert proposal.ambiguous and not proposal.automatic
        assert 2 in proposal.alternatives
        assert "payer and exact amount point to 2" in proposal.explanation

    def test_a_reference_paid_by_its_own_debtor_is_applied_despite_a_namesake_elsewhere(self):
        # The payer is the named debtor: another Anna Schmidt with the same open amount raises no doubt.
        anna = receivable(1, "119.00", "Anna Schmidt")
        other_anna = receivable(2, "119.00", "Anna Schmidt")
        transfer = credit("119.00", f"Rechnung {anna.payment_reference}", name="Anna Schmidt")

        proposal = only(match_payments([transfer], [anna, other_anna]))

        assert proposal.automatic and proposal.allocations == (Allocation(1, Decimal("119.00")),)

    def test_a_reference_paid_by_someone_unknown_is_applied(self):
        # A relative pays Jonas's invoice with its reference; no other receivable fits payer and amount.
        jonas = receivable(1, "119.00", "Jonas Becker")
        transfer = credit("119.00", f"Rechnung {jonas.payment_reference}", name="Maria Becker-Huber")

        assert only(match_payments([transfer], [jonas])).automatic

    def test_unrelated_credits_stay_unmatched(self):
        transfer = credit("1234.56", "Erstattung Umsatzsteuer 2023", name="Finanzamt Berlin-Mitte")

        proposal = only(match_payments([transfer], [receivable(1, "77.45"), *CROWD]))

        assert proposal.rule is MatchRule.UNMATCHED
        assert proposal.allocations == ()
        assert proposal.unallocated == Decimal("1234.56")

    def test_skips_debits_reversals_and_pending_bookings(self):
        target = receivable(1, "77.45")
        bookings = [
            credit("77.45", target.payment_reference, credit_debit=CreditDebit.DEBIT),
            credit("77.45", target.payment_reference, reversal=True),
            credit("77.45", target.payment_reference, booked=False),
        ]

        assert match_payments(bookings, [target]) == []

    def test_a_matcher_keeps_track_of_what_it_applied_across_calls(self):
        target = receivable(1, "77.45")
        matcher = PaymentMatcher([target])

        assert matcher.match([credit("77.45", target.payment_reference)])[0].automatic
        assert not matcher.match([credit("77.45", target.payment_reference)])[0].automatic

    def test_returns_proposals_in_input_order_with_allocations(self):
        one, two = receivable(1, "10.00"), receivable(2, "20.00", "Lea Koch")
        transfers = [credit("20.00", "", name="Lea Koch"), credit("10.00", one.payment_reference)]

        proposals = match_payments(transfers, [one, two])

        assert [p.transaction_id for p in proposals] == [t.transaction_id for t in transfers]
        assert proposals[0].allocations == (Allocation(2, Decimal("20.00")),)


@pytest.fixture(scope="module")
def labelled():
    return generate_set(transfers=2000, receivables=3000, seed=20240313)


class TestMatchingQuality:
    """Precision of automatic matches on a generated, labelled statement (fixed seed)."""

    @pytest.mark.parametrize("statement_format", ["camt053", "mt940"])
    def test_automatic_matches_are_precise(self, labelled, statement_format, capsys):
        out = io.StringIO()
        if statement_format == "camt053":
            write_camt053(labelled.transfers, out)
            transactions = list(parse_camt053(out.getvalue().encode()))
        else:
            write_mt940(labelled.transfers, out)
            transactions = parse_mt940(out.getvalue())

        quality = evaluate(
            labelled.transfers, transactions, match_payments(transactions, labelled.receivables)
        )

        with capsys.disabled():
            print(f"\n{statement_format}: {quality.report()}")
        assert quality.transfers > 1900
        assert quality.precision >= 0.99, quality.wrong[:10]
        assert quality.recall >= 0.85  # a floor against regressions; the report above gives the figure

    def test_the_generated_statement_is_messy(self, labelled):
        kinds = {transfer.kind for transfer in labelled.transfers}

        assert {
            "mangled_reference",
            "bank_fee",
            "combined",
            "partial",
            "unrelated",
            "double_payment",
        } <= kinds
        assert any("\n" in t.remittance for t in labelled.transfers)
        assert any(t.name.isupper() for t in labelled.transfers)
        assert any(t.batch for t in labelled.transfers)
