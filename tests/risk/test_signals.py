from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from email_validator import validate_email

from backend.merchants.policy import ReasonCode, RiskPolicy, VelocityLimits
from backend.risk import signals
from backend.risk.inputs import Address, BuyerContext, CheckInput, VelocityCounts
from backend.risk.signals import (
    Facts,
    Finding,
    InputWarning,
    Reason,
    WarningCode,
    german_postal_places,
    is_disposable_domain,
    looks_like_test_name,
    pickup_point_kind,
)
from connectors.bureaus.base import BureauResult
from tests.risk.conftest import REAL_PLACES

NEW_BUYER = BuyerContext()
KNOWN_BUYER = BuyerContext(previous_orders=4)


def run(
    signal: signals.Signal, check: CheckInput, context: BuyerContext = KNOWN_BUYER, **policy: Any
) -> list[Finding]:
    return signal(Facts(check), context, RiskPolicy.from_dict(policy))


def reasons(findings: list[Finding]) -> dict[str, Reason]:
    return {finding.code: finding for finding in findings if isinstance(finding, Reason)}


def warnings(findings: list[Finding]) -> list[tuple[str, str]]:
    return [(finding.code, finding.field) for finding in findings if isinstance(finding, InputWarning)]


class TestAmountLimits:
    def test_normal_cart_of_a_known_buyer_passes(self, make_check) -> None:
        assert run(signals.amount_limits, make_check()) == []

    def test_order_above_the_per_order_limit(self, make_check) -> None:
        fired = reasons(run(signals.amount_limits, make_check(amount="1500.01")))
        assert set(fired) == {ReasonCode.ORDER_AMOUNT_LIMIT}
        assert fired[ReasonCode.ORDER_AMOUNT_LIMIT].params == {"amount": "1500.01", "limit": "1500.00"}

    def test_order_at_the_limit_passes(self, make_check) -> None:
        assert run(signals.amount_limits, make_check(amount="1500.00")) == []

    def test_first_order_limit_applies_only_to_new_buyers(self, make_check) -> None:
        check = make_check(amount="600.00")
        assert set(reasons(run(signals.amount_limits, check, NEW_BUYER))) == {
            ReasonCode.FIRST_ORDER_AMOUNT_LIMIT
        }
        assert run(signals.amount_limits, check, KNOWN_BUYER) == []

    def test_open_exposure_counts_this_cart(self, make_check) -> None:
        context = replace(KNOWN_BUYER, open_exposure=Decimal("1950.00"))
        fired = reasons(run(signals.amount_limits, make_check(amount="60.00"), context))
        assert fired[ReasonCode.OPEN_EXPOSURE_LIMIT].params["exposure"] == "2010.00"
        assert run(signals.amount_limits, make_check(amount="50.00"), context) == []

    def test_warns_when_the_currency_is_not_the_policy_currency(self, make_check) -> None:
        findings = run(signals.amount_limits, make_check(currency="CHF"))
        assert warnings(findings) == [(WarningCode.CURRENCY_NOT_POLICY_CURRENCY, "/currency")]


class TestFirstOrder:
    def test_fires_for_a_new_identity(self, make_check) -> None:
        assert set(reasons(run(signals.first_order, make_check(), NEW_BUYER))) == {ReasonCode.FIRST_ORDER}

    def test_silent_for_a_returning_buyer(self, make_check) -> None:
        assert run(signals.first_order, make_check(), KNOWN_BUYER) == []


class TestHistory:
    def test_clean_history_passes(self, make_check) -> None:
        assert run(signals.history, make_check()) == []

    @pytest.mark.parametrize(
        ("field", "code"),
        [
            ("unpaid_orders", ReasonCode.HISTORY_UNPAID),
            ("dunned_orders", ReasonCode.HISTORY_DUNNED),
            ("handed_over_orders", ReasonCode.HISTORY_HANDED_OVER),
        ],
    )
    def test_each_kind_of_bad_history_fires(self, make_check, field: str, code: ReasonCode) -> None:
        fired = reasons(run(signals.history, make_check(), replace(KNOWN_BUYER, **{field: 2})))
        assert set(fired) == {code}
        assert fired[code].params == {"count": 2}


class TestPaymentHistory:
    def test_no_payment_and_the_limit_of_open_invoices_fires(self, make_check) -> None:
        context = BuyerContext(previous_orders=2, open_orders=2)
        fired = reasons(run(signals.payment_history, make_check(), context))
        assert fired[ReasonCode.OPEN_INVOICES_WITHOUT_PAYMENT].params == {"count": 2, "limit": 2}
        assert fired[ReasonCode.OPEN_INVOICES_WITHOUT_PAYMENT].weight >= RiskPolicy().decline_at

    def test_below_the_limit_passes(self, make_check) -> None:
        assert (
            run(signals.payment_history, make_check(), BuyerContext(previous_orders=1, open_orders=1)) == []
        )

    def test_one_payment_lifts_the_limit(self, make_check) -> None:
        context = BuyerContext(previous_orders=5, open_orders=4, paid_orders=1)
        assert run(signals.payment_history, make_check(), context) == []

    def test_limit_is_the_policys(self, make_check) -> None:
        context = BuyerContext(previous_orders=3, open_orders=3)
        assert run(signals.payment_history, make_check(), context, max_open_invoices_without_payment=4) == []


class TestVelocity:
    def test_placed_invoice_orders_count_per_identity(self, make_check) -> None:
        context = replace(KNOWN_BUYER, velocity={"ip": VelocityCounts(orders_24h=3, invoice_orders_24h=3)})
        fired = reasons(run(signals.velocity, make_check(), context))
        assert fired[ReasonCode.VELOCITY_INVOICE_ORDERS].params == {
            "identities": ["ip"],
            "window": "24h",
            "count": 3,
        }

    def test_below_limits_passes(self, make_check) -> None:
        context = replace(KNOWN_BUYER, velocity={"email": VelocityCounts(orders_24h=2, orders_30d=9)})
        assert run(signals.velocity, make_check(), context) == []

    def test_orders_per_identity_in_24h(self, make_check) -> None:
        context = replace(
            KNOWN_BUYER,
            velocity={
                "email": VelocityCounts(orders_24h=3, orders_30d=3),
                "ip": VelocityCounts(orders_24h=5),
            },
        )
        fired = reasons(run(signals.velocity, make_check(), context))
        assert set(fired) == {ReasonCode.VELOCITY_ORDERS}
        assert fired[ReasonCode.VELOCITY_ORDERS].params == {
            "identities": ["email", "ip"],
            "window": "24h",
            "count": 5,
        }

    def test_ip_has_its_own_higher_limit(self, make_check) -> None:
        context = replace(KNOWN_BUYER, velocity={"ip": VelocityCounts(orders_24h=4)})
        assert run(signals.velocity, make_check(), context) == []

    def test_many_names_at_one_address_and_many_addresses_for_one_email(self, make_check) -> None:
        context = replace(
            KNOWN_BUYER,
            velocity={
                "shipping_address": VelocityCounts(other_names_30d=3),
                "email": VelocityCounts(other_addresses_30d=2),
            },
        )
        fired = reasons(run(signals.velocity, make_check(), context))
        assert set(fired) == {ReasonCode.VELOCITY_NAMES, ReasonCode.VELOCITY_ADDRESSES}
        assert fired[ReasonCode.VELOCITY_NAMES].params["identities"] == ["shipping_address"]

    def test_a_zero_limit_is_off(self, make_check) -> None:
        context = replace(KNOWN_BUYER, velocity={"email": VelocityCounts(orders_24h=50)})
        check = make_check()
        policy = RiskPolicy(velocity={"email": VelocityLimits(orders_24h=0, orders_30d=0)})
        assert signals.velocity(Facts(check), context, policy) == []


class TestShippingDiffers:
    def test_no_shipping_address_passes(self, make_check) -> None:
        assert run(signals.shipping_differs, make_check()) == []

    def test_same_address_written_differently_passes(self, make_check) -> None:
        shipping = {
            "first_name": "ANNA",
            "last_name": "schmidt",
            "street": "Berger Str.",
            "house_number": "12",
            "postal_code": "60316",
            "city": "Frankfurt",
            "country": "DE",
        }
        assert run(signals.shipping_differs, make_check(shipping_address=shipping)) == []

    def test_other_address_same_person(self, make_check) -> None:
        shipping = {
            "first_name": "Anna",
            "last_name": "Schmidt",
            "street": "Kaufingerstraße",
            "house_number": "1",
            "postal_code": "80331",
            "city": "München",
            "country": "DE",
        }
        assert set(reasons(run(signals.shipping_differs, make_check(shipping_address=shipping)))) == {
            ReasonCode.SHIPPING_ADDRESS_DIFFERS
        }

    def test_other_person_weighs_more_than_other_address(self, make_check) -> None:
        shipping = {
            "first_name": "Jonas",
            "last_name": "Weber",
            "street": "Berger Straße",
            "house_number": "12",
            "postal_code": "60316",
            "city": "Frankfurt am Main",
            "country": "DE",
        }
        fired = reasons(run(signals.shipping_differs, make_check(shipping_address=shipping)))
        assert set(fired) == {ReasonCode.SHIPPING_NAME_DIFFERS}
        policy = RiskPolicy()
        assert policy.weight(ReasonCode.SHIPPING_NAME_DIFFERS) > policy.weight(
            ReasonCode.SHIPPING_ADDRESS_DIFFERS
        )


class TestPickupPoints:
    @pytest.mark.parametrize(
        ("address", "kind"),
        [
            (Address(street="Packstation", house_number="123", company="12345678"), "packstation"),
            (Address(street="Packstation 207"), "packstation"),
            (Address(street="Packstation123"), "packstation"),
            (Address(street="Postfiliale 502"), "post_office"),
            (Address(street="Hermes PaketShop Müller", house_number="3"), "parcel_shop"),
            (Address(street="Postfach", house_number="10 01 23"), "po_box"),
            (Address(street="P.O. Box 42"), "po_box"),
            (Address(street="Berger Straße", house_number="12"), ""),
            (Address(street="Am Postweg", house_number="2"), ""),
        ],
    )
    def test_recognises_pickup_points(self, address: Address, kind: str) -> None:
        assert pickup_point_kind(address) == kind

    def test_packstation_as_shipping_address(self, make_check) -> None:
        shipping = {
            "first_name": "Anna",
            "last_name": "Schmidt",
            "street": "Packstation",
            "house_number": "123",
            "postal_code": "60311",
            "city": "Frankfurt am Main",
            "country": "DE",
            "company": "12345678",
        }
        fired = reasons(run(signals.pickup_points, make_check(shipping_address=shipping)))
        assert set(fired) == {ReasonCode.PACKSTATION_SHIPPING}
        assert fired[ReasonCode.PACKSTATION_SHIPPING].params == {"kind": "packstation"}

    def test_po_box_as_billing_address(self, make_check) -> None:
        check = make_check(billing_address={"street": "Postfach", "house_number": "10 01 23"})
        assert set(reasons(run(signals.pickup_points, check))) == {ReasonCode.PACKSTATION_BILLING}

    def test_home_address_passes(self, make_check) -> None:
        assert run(signals.pickup_points, make_check()) == []


class TestPostalCodes:
    @pytest.mark.parametrize(("postal_code", "city"), REAL_PLACES)
    def test_real_pairs_pass(self, make_check, postal_code: str, city: str) -> None:
        check = make_check(billing_address={"postal_code": postal_code, "city": city})
        assert run(signals.postal_codes, check) == []

    @pytest.mark.parametrize(
        ("postal_code", "city"),
        [
            ("60311", "Frankfurt"),
            ("60311", "Frankfurt/Main"),
            ("60311", "Frankfurt a. M."),
            ("60311", "FRANKFURT AM MAIN"),
            ("15230", "Frankfurt (Oder)"),
            ("15230", "Frankfurt/Oder"),
            ("80331", "Muenchen"),
            ("01109", "Dresden-Klotzsche"),
            ("01109", "Klotzsche"),
            ("06108", "Halle (Saale)"),
            ("15848", "Groß Briesen"),
            ("66386", "St. Ingbert"),
        ],
    )
    def test_city_name_variants_pass(self, make_check, postal_code: str, city: str) -> None:
        check = make_check(billing_address={"postal_code": postal_code, "city": city})
        assert run(signals.postal_codes, check) == []

    def test_a_postal_code_serving_several_places_accepts_each(self, make_check) -> None:
        names = german_postal_places()["15848"].names
        assert len(names) > 2
        for city in ("Beeskow", "Friedland", "Tauche"):
            assert (
                run(signals.postal_codes, make_check(billing_address={"postal_code": "15848", "city": city}))
                == []
            )

    def test_city_of_another_postal_code_fires(self, make_check) -> None:
        findings = run(
            signals.postal_codes, make_check(billing_address={"postal_code": "80331", "city": "Berlin"})
        )
        assert set(reasons(findings)) == {ReasonCode.POSTAL_CODE_CITY_MISMATCH}
        assert warnings(findings) == [(WarningCode.CITY_NOT_AT_POSTAL_CODE, "/billing_address/postal_code")]
        warning = next(finding for finding in findings if isinstance(finding, InputWarning))
        assert warning.params["expected"] == "München"

    def test_misspelt_city_only_warns(self, make_check) -> None:
        findings = run(
            signals.postal_codes, make_check(billing_address={"postal_code": "80331", "city": "Münchn"})
        )
        assert reasons(findings) == {}
        assert warnings(findings) == [(WarningCode.CITY_SPELLING_VARIANT, "/billing_address/city")]

    def test_malformed_german_postal_code(self, make_check) -> None:
        findings = run(signals.postal_codes, make_check(billing_address={"postal_code": "6031"}))
        assert set(reasons(findings)) == {ReasonCode.POSTAL_CODE_INVALID}
        assert warnings(findings) == [
            (WarningCode.POSTAL_CODE_FORMAT_INVALID, "/billing_address/postal_code")
        ]

    def test_unknown_german_postal_code_only_warns(self, make_check) -> None:
        findings = run(signals.postal_codes, make_check(billing_address={"postal_code": "00000"}))
        assert warnings(findings) == [(WarningCode.POSTAL_CODE_NOT_FOUND, "/billing_address/postal_code")]
        assert reasons(findings) == {}

    @pytest.mark.parametrize(
        ("country", "postal_code", "valid"),
        [
            ("AT", "1010", True),
            ("AT", "10100", False),
            ("NL", "1012 AB", True),
            ("NL", "AB 1012", False),
            ("GB", "SW1A 1AA", True),
            ("PL", "00-950", True),
            ("CH", "8001", True),
            ("US", "ABCDE", False),
        ],
    )
    def test_other_countries_by_format(self, make_check, country: str, postal_code: str, valid: bool) -> None:
        check = make_check(
            billing_address={"country": country, "postal_code": postal_code, "city": "Somewhere"}
        )
        fired = reasons(run(signals.postal_codes, check))
        assert (ReasonCode.POSTAL_CODE_INVALID not in fired) is valid

    def test_shipping_address_is_checked_too(self, make_check) -> None:
        shipping = {
            "first_name": "Anna",
            "last_name": "Schmidt",
            "street": "Zeil",
            "house_number": "1",
            "postal_code": "10115",
            "city": "Köln",
            "country": "DE",
        }
        findings = run(signals.postal_codes, make_check(shipping_address=shipping))
        assert reasons(findings)[ReasonCode.POSTAL_CODE_CITY_MISMATCH].params == {"addresses": ["shipping"]}

    def test_missing_postal_code_warns(self, make_check) -> None:
        findings = run(signals.postal_codes, make_check(billing_address={"postal_code": ""}))
        assert warnings(findings) == [(WarningCode.FIELD_MISSING, "/billing_address/postal_code")]

    @pytest.mark.parametrize(("postal_code", "city"), REAL_PLACES)
    def test_test_places_are_real_geonames_pairs(self, postal_code: str, city: str) -> None:
        assert city in german_postal_places()[postal_code].names


class TestEmailSyntax:
    def test_valid_address_passes(self, make_check) -> None:
        assert run(signals.email_syntax, make_check()) == []

    @pytest.mark.parametrize("email", ["anna.schmidt", "anna@@web.de", "anna schmidt@web.de", "anna@web"])
    def test_invalid_address_fires_and_warns(self, make_check, email: str) -> None:
        findings = run(signals.email_syntax, make_check(buyer={"email": email}))
        assert set(reasons(findings)) == {ReasonCode.EMAIL_INVALID}
        assert warnings(findings) == [(WarningCode.EMAIL_SYNTAX_INVALID, "/buyer/email")]

    def test_missing_address_warns(self, make_check) -> None:
        assert warnings(run(signals.email_syntax, make_check(buyer={"email": ""}))) == [
            (WarningCode.FIELD_MISSING, "/buyer/email")
        ]


# Valid and refused domains of every kind email_validator tells apart (case, IDNA, special-use, labels, length).
ADDRESSES = [
    "anna.mueller@web.de",
    "Anna.Mueller@WEB.DE",
    "max+shop@googlemail.com",
    "jörg@exämple.de",
    "x@xn--exmple-cua.de",
    "a@b.test",
    "a@localhost",
    "a@mail.invalid",
    "a@-web.de",
    "a@we--b.de",
    "a@web.123",
    "a@web..de",
    "a@web_de.de",
    "a@" + "l" * 64 + ".de",
    "a@" + ".".join(["abcdefghi"] * 26) + ".de",
    "a@[127.0.0.1]",
    "anna schmidt@web.de",
    "anna@web",
]


class TestParseEmail:
    @pytest.fixture
    def domain_module(self) -> Iterator[Any]:
        signals.parse_email.cache_clear()
        module = sys.modules[validate_email.__module__]
        remembered = module.validate_email_domain_name.remembered
        yield module
        signals.parse_email.cache_clear()
        remembered.cache_clear()

    def test_remembered_domain_checks_give_email_validators_answers(self, domain_module, monkeypatch) -> None:
        remembered = [signals.parse_email(address) for address in ADDRESSES * 2]
        signals.parse_email.cache_clear()
        monkeypatch.setattr(
            domain_module, "validate_email_domain_name", domain_module.validate_email_domain_name.__wrapped__
        )
        assert [signals.parse_email(address) for address in ADDRESSES * 2] == remembered
        valid = ["anna.mueller@web.de", "Anna.Mueller@WEB.DE", "max+shop@googlemail.com", "jörg@exämple.de"]
        assert all(remembered[ADDRESSES.index(address)].error == "" for address in valid)

    def test_each_caller_gets_its_own_copy_of_a_remembered_answer(self, domain_module) -> None:
        check = domain_module.validate_email_domain_name
        first = check("web.de", test_environment=False, globally_deliverable=True)
        first["domain"] = "changed.example"
        assert check("web.de", test_environment=False, globally_deliverable=True)["domain"] == "web.de"

    def test_a_domain_is_checked_once_and_a_refused_one_each_time(self, domain_module) -> None:
        check = domain_module.validate_email_domain_name.remembered
        check.cache_clear()
        for address in ("anna@web.de", "max@web.de", "anna@b.test", "max@b.test"):
            signals.parse_email(address)
        assert (check.cache_info().hits, check.cache_info().misses, check.cache_info().currsize) == (1, 3, 1)


class TestDisposableEmail:
    @pytest.mark.parametrize("domain", ["mailinator.com", "trashmail.de", "inbox.mailinator.com"])
    def test_known_disposable_domains(self, domain: str) -> None:
        assert is_disposable_domain(domain)

    def test_fires_for_a_disposable_address(self, make_check) -> None:
        fired = reasons(run(signals.disposable_email, make_check(buyer={"email": "anna@mailinator.com"})))
        assert fired[ReasonCode.EMAIL_DISPOSABLE].params == {"domain": "mailinator.com"}

    @pytest.mark.parametrize("email", ["anna@web.de", "anna@gmx.de", "anna@t-online.de", "anna@gmail.com"])
    def test_ordinary_providers_pass(self, make_check, email: str) -> None:
        assert run(signals.disposable_email, make_check(buyer={"email": email})) == []


class TestEmailNameMismatch:
    @pytest.mark.parametrize("email", ["anna.schmidt@web.de", "a.schmidt87@gmx.de", "anna1990@web.de"])
    def test_name_in_local_part_passes(self, make_check, email: str) -> None:
        assert run(signals.email_name_mismatch, make_check(buyer={"email": email})) == []

    def test_unrelated_local_part_fires_weakly(self, make_check) -> None:
        fired = reasons(run(signals.email_name_mismatch, make_check(buyer={"email": "sunshine77@web.de"})))
        assert fired[ReasonCode.EMAIL_NAME_MISMATCH].weight <= 5

    @pytest.mark.parametrize(
        ("email", "first", "last"),
        [
            ("m.ozturk@gmx.de", "Mehmet", "Öztürk"),
            ("m.yilmaz@web.de", "Mehmet", "Yılmaz"),
            ("l.muller@web.de", "Lea", "Müller"),
            ("lukasz.k@gmail.com", "Łukasz", "Kowalski"),
            ("t.ho@gmail.com", "Thanh", "Ho"),
            ("mle85@web.de", "Mai", "Le"),
            ("vu_an@gmx.de", "An", "Vu"),
        ],
    )
    def test_names_written_in_ascii_match(self, make_check, email: str, first: str, last: str) -> None:
        check = make_check(buyer={"email": email}, billing_address={"first_name": first, "last_name": last})
        assert run(signals.email_name_mismatch, check) == []

    def test_a_two_letter_name_inside_another_word_does_not_count(self, make_check) -> None:
        check = make_check(
            buyer={"email": "schokolade@web.de"}, billing_address={"first_name": "Thanh", "last_name": "Ho"}
        )
        assert ReasonCode.EMAIL_NAME_MISMATCH in reasons(run(signals.email_name_mismatch, check))

    def test_umlauts_are_folded(self, make_check) -> None:
        check = make_check(
            buyer={"email": "juergen.mueller@web.de"},
            billing_address={"first_name": "Jürgen", "last_name": "Müller"},
        )
        assert run(signals.email_name_mismatch, check) == []


class TestPhone:
    def test_valid_german_mobile_passes(self, make_check) -> None:
        assert run(signals.phone, make_check()) == []

    def test_no_phone_passes(self, make_check) -> None:
        assert run(signals.phone, make_check(buyer={"phone": ""})) == []

    @pytest.mark.parametrize("phone", ["12345", "0000000", "not a number"])
    def test_invalid_number(self, make_check, phone: str) -> None:
        findings = run(signals.phone, make_check(buyer={"phone": phone}))
        assert set(reasons(findings)) == {ReasonCode.PHONE_INVALID}
        assert warnings(findings) == [(WarningCode.PHONE_NUMBER_INVALID, "/buyer/phone")]

    def test_foreign_number_for_a_german_billing_address(self, make_check) -> None:
        fired = reasons(run(signals.phone, make_check(buyer={"phone": "+44 7400 123456"})))
        assert fired[ReasonCode.PHONE_COUNTRY_MISMATCH].params == {
            "phone_country": "GB",
            "billing_country": "DE",
        }

    def test_premium_rate_number(self, make_check) -> None:
        assert set(reasons(run(signals.phone, make_check(buyer={"phone": "0900 1234567"})))) == {
            ReasonCode.PHONE_PREMIUM_RATE
        }

    def test_voip_number(self, make_check) -> None:
        check = make_check(buyer={"phone": "0780 123456"}, billing_address={"country": "AT"})
        assert set(reasons(run(signals.phone, check))) == {ReasonCode.PHONE_VOIP}


class TestPlaceholderNames:
    @pytest.mark.parametrize(
        "name",
        ["test", "max mustermann", "erika mustermann", "test123 schmidt", "asdf", "anna qwertz", "xxx"],
    )
    def test_recognises_test_names(self, name: str) -> None:
        assert looks_like_test_name(name)

    @pytest.mark.parametrize(
        "name", ["anna schmidt", "testa rossi", "max muster mann", "lea wert", "hans asmus", "sdf kowalski"]
    )
    def test_real_names_pass(self, name: str) -> None:
        assert not looks_like_test_name(name)

    def test_fires_for_a_placeholder_on_the_order(self, make_check) -> None:
        check = make_check(buyer={"first_name": "Max", "last_name": "Mustermann"})
        assert set(reasons(run(signals.placeholder_names, check))) == {ReasonCode.TEST_ORDER_NAME}

    def test_real_buyer_passes(self, make_check) -> None:
        assert run(signals.placeholder_names, make_check()) == []


class TestCompanyInConsumerOrder:
    def test_legal_form_in_the_name_fires(self, make_check) -> None:
        check = make_check(billing_address={"last_name": "Schmidt Handels GmbH"})
        assert set(reasons(run(signals.company_in_consumer_order, check))) == {
            ReasonCode.COMPANY_IN_CONSUMER_ORDER
        }

    def test_business_order_with_company_field_passes(self, make_check) -> None:
        check = make_check(billing_address={"last_name": "Schmidt GmbH", "company": "Schmidt GmbH"})
        assert run(signals.company_in_consumer_order, check) == []

    def test_person_name_passes(self, make_check) -> None:
        assert run(signals.company_in_consumer_order, make_check()) == []


class TestBureauFindings:
    @pytest.mark.parametrize(
        ("light", "code"), [("R", ReasonCode.BUREAU_RED), ("Y", ReasonCode.BUREAU_YELLOW)]
    )
    def test_red_and_yellow_lights(self, light: str, code: ReasonCode) -> None:
        fired = reasons(signals.bureau_findings(BureauResult("payone", traffic_light=light), RiskPolicy()))
        assert set(fired) == {code}

    def test_green_light_passes(self) -> None:
        result = BureauResult("payone", traffic_light="G", score_value=720, person_status="PPB")
        assert signals.bureau_findings(result, RiskPolicy()) == []

    def test_low_score_only_with_a_minimum_set(self) -> None:
        result = BureauResult("payone", traffic_light="G", score_value=250)
        assert signals.bureau_findings(result, RiskPolicy()) == []
        policy = RiskPolicy.from_dict({"bureau": {"min_score_value": 300}})
        assert set(reasons(signals.bureau_findings(result, policy))) == {ReasonCode.BUREAU_LOW_SCORE}

    def test_undeliverable_person(self) -> None:
        result = BureauResult("payone", traffic_light="G", person_status="PUZ")
        assert set(reasons(signals.bureau_findings(result, RiskPolicy()))) == {
            ReasonCode.BUREAU_PERSON_STATUS
        }


class TestSignalRegistry:
    def test_every_signal_runs_on_a_minimal_input(self) -> None:
        check = CheckInput(amount=Decimal("10.00"))
        for signal in signals.SIGNALS:
            findings = signal(Facts(check), NEW_BUYER, RiskPolicy())
            assert all(isinstance(finding, Reason | InputWarning) for finding in findings)

    def test_each_signal_yields_a_code_at_most_once(self, make_check: Callable[..., CheckInput]) -> None:
        shipping = {
            "first_name": "Max",
            "last_name": "Mustermann",
            "street": "Packstation",
            "house_number": "1",
            "postal_code": "99999",
            "city": "Nirgendwo",
            "country": "DE",
        }
        check = make_check(
            billing_address={"postal_code": "80331", "city": "Berlin"}, shipping_address=shipping
        )
        for signal in signals.SIGNALS:
            codes = [
                finding.code
                for finding in signal(Facts(check), NEW_BUYER, RiskPolicy())
                if isinstance(finding, Reason)
            ]
            assert len(codes) == len(set(codes)), signal.__name__
