from __future__ import annotations

import hashlib
import hmac
import ipaddress
import random

import phonenumbers
import pytest
from phonenumbers import PhoneNumberType

from backend.risk.identity import (
    IdentityKeys,
    PhoneFacts,
    fold,
    fold_spellings,
    identity_keys,
    keyed_hash,
    normalise_address,
    normalise_email,
    normalise_ip,
    normalise_name,
    normalise_name_address,
    normalise_phone,
    normalise_street,
    phone_facts,
)
from backend.risk.inputs import Address

SECRET = b"installation-secret"


class TestFold:
    @pytest.mark.parametrize(
        ("text", "folded"),
        [
            ("München", "muenchen"),
            ("MUENCHEN", "muenchen"),
            ("Straße", "strasse"),
            ("  Görlitz-Süd ", "goerlitz sued"),
            ("Élodie François", "elodie francois"),
            # Letters without a Unicode decomposition: dropping them would garble the name.
            ("Yılmaz", "yilmaz"),
            ("Łukasz Wiśniewski", "lukasz wisniewski"),
            ("Đorđević", "dordevic"),
            ("Søren Ærø", "soren aero"),
        ],
    )
    def test_folds_case_umlauts_accents_and_separators(self, text: str, folded: str) -> None:
        assert fold(text) == folded

    def test_spellings_cover_umlauts_written_short(self) -> None:
        assert fold_spellings("Öztürk") == ("oeztuerk", "ozturk")
        assert fold_spellings("Schmidt") == ("schmidt",)


class TestNormaliseEmail:
    @pytest.mark.parametrize(
        "variant",
        [
            "max.meier@gmail.com",
            "Max.Meier@GMail.com",
            "maxmeier@gmail.com",
            "m.a.x.meier+shop@googlemail.com",
            " maxmeier+x@gmail.com ",
        ],
    )
    def test_gmail_variants_are_one_mailbox(self, variant: str) -> None:
        assert normalise_email(variant) == "maxmeier@gmail.com"

    def test_keeps_dots_outside_gmail(self) -> None:
        assert normalise_email("Max.Meier@web.de") == "max.meier@web.de"
        assert normalise_email("max.meier@web.de") != normalise_email("maxmeier@web.de")

    def test_drops_plus_tags_everywhere(self) -> None:
        assert normalise_email("anna+news@posteo.de") == "anna@posteo.de"


class TestNormalisePhone:
    @pytest.mark.parametrize(
        "variant", ["0171 2345678", "+49 171 2345678", "0049-171-2345678", "(0171) 234 56 78"]
    )
    def test_german_variants_become_one_e164_number(self, variant: str) -> None:
        assert normalise_phone(variant, "DE") == "+491712345678"

    def test_reads_national_numbers_in_the_billing_country(self) -> None:
        assert normalise_phone("0664 1234567", "AT") == "+436641234567"

    def test_returns_empty_for_garbage(self) -> None:
        assert normalise_phone("call me", "DE") == ""
        assert normalise_phone("12", "DE") == ""

    def test_facts_are_phonenumbers_own_validity_form_region_and_type(self) -> None:
        """The number's type is asked once; validity and everything else stay what phonenumbers says."""
        rng = random.Random(19)
        prefixes = ["+49 ", "+43 ", "+41 ", "+1 ", "+44 ", "+800 ", "+882 ", "+979 ", "+999 ", "0", "00", ""]
        valid = 0
        for _ in range(3000):
            raw = rng.choice(prefixes) + "".join(rng.choice("0123456789") for _ in range(rng.randint(2, 12)))
            region = rng.choice(["DE", "AT", "US", "GB", "", "XX"])
            try:
                number = phonenumbers.parse(raw, region or None)
            except phonenumbers.NumberParseException:
                number = None
            facts = phone_facts(raw, region)
            if number is None or not phonenumbers.is_valid_number(number):
                assert facts == PhoneFacts(False, "", "", PhoneNumberType.UNKNOWN), raw
                continue
            valid += 1
            assert facts == PhoneFacts(
                True,
                phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
                phonenumbers.region_code_for_number(number),
                phonenumbers.number_type(number),
            ), raw
        assert valid > 300


class TestNormaliseStreet:
    @pytest.mark.parametrize(
        ("street", "number"),
        [
            ("Karl-Marx-Straße", "5a"),
            ("Karl-Marx-Str.", "5 a"),
            ("Karl Marx Str", "5A"),
            ("karl-marx-strasse 5a", ""),
            ("KARL-MARX-STR.5a", ""),
        ],
    )
    def test_abbreviations_and_spacing_are_equivalent(self, street: str, number: str) -> None:
        assert normalise_street(street, number) == "karlmarxstrasse5a"

    def test_does_not_expand_str_inside_words(self) -> None:
        assert normalise_street("Strandweg", "1") == "strandweg1"

    def test_different_house_numbers_differ(self) -> None:
        assert normalise_street("Hauptstr.", "5") != normalise_street("Hauptstr.", "7")


class TestNormaliseAddress:
    def test_ignores_city_spelling_when_a_postal_code_exists(self) -> None:
        first = Address(
            street="Berger Str.", house_number="12", postal_code="60316", city="Frankfurt", country="DE"
        )
        second = Address(
            street="Berger Straße",
            house_number="12",
            postal_code="60316",
            city="Frankfurt am Main",
            country="de",
        )
        assert normalise_address(first) == normalise_address(second) == "DE|60316|bergerstrasse12"

    def test_empty_address_has_no_key(self) -> None:
        assert normalise_address(Address(country="DE")) == ""


class TestNormaliseName:
    def test_swapped_fields_and_umlauts_match(self) -> None:
        assert normalise_name("Jürgen", "Müller") == normalise_name("MUELLER", "juergen")


class TestNormaliseIp:
    def test_ipv6_addresses_of_one_network_match(self) -> None:
        assert (
            normalise_ip("2001:db8:1:2:aaaa::1")
            == normalise_ip("2001:db8:1:2:bbbb::2")
            == "2001:db8:1:2::/64"
        )

    def test_ipv4_mapped_becomes_ipv4(self) -> None:
        assert normalise_ip("::ffff:203.0.113.7") == "203.0.113.7"

    def test_invalid_is_empty(self) -> None:
        assert normalise_ip("not-an-ip") == ""

    @pytest.mark.parametrize(
        "ip",
        [
            "203.0.113.7",
            " 203.0.113.7 ",
            "2003:c0de:12::1",
            "2001:db8:1:2:3:4:5:6",
            "2001:DB8::",
            "::",
            "::1",
            "::ffff:203.0.113.7",
            "::ffff:cb00:7107",
            "fe80::%eth0",
            "fe80::1%eth0",
            "::ffff:203.0.113.7%eth0",
            "1.2.3.4%eth0",
            "fe80::1%",
            "2001:db8::1/64",
            "203.0.113.7/32",
            "203.0.113",
            "203.0.113.07",
            "256.0.0.1",
            "1:2:3:4:5:6:7:8:9",
            "2001:db8::g",
            ":",
            "",
            "١٢٣.0.0.1",
        ],
    )
    def test_answers_as_ip_address_and_ipv6_network(self, ip: str) -> None:
        try:
            parsed = ipaddress.ip_address(ip.strip())
        except ValueError:
            expected = ""
        else:
            if isinstance(parsed, ipaddress.IPv4Address):
                expected = str(parsed)
            elif parsed.ipv4_mapped is not None:
                expected = str(parsed.ipv4_mapped)
            else:
                expected = str(ipaddress.IPv6Network((parsed, 64), strict=False))
        assert normalise_ip(ip) == expected


class TestIdentityKeys:
    def test_keyed_hash_is_hmac_sha256_of_kind_and_value(self) -> None:
        expected = hmac.new(SECRET, b"email:anna@web.de", hashlib.sha256).hexdigest()
        assert keyed_hash(SECRET, "email", "anna@web.de") == expected

    def test_keyed_hash_is_hmac_digest_for_a_long_key_and_alternating_secrets(self) -> None:
        """The HMAC kept per secret gives ``hmac.digest``'s answer: a key over SHA-256's 64-byte block (hashed
        first), and two secrets used by turns, each copy starting from its own secret's state."""
        long_key = bytes(range(100))
        secrets = (long_key, SECRET, long_key, SECRET)
        for n, secret in enumerate(secrets):
            value = f"anna{n}@web.de"
            expected = hmac.digest(secret, f"email:{value}".encode(), "sha256").hex()
            assert keyed_hash(secret, "email", value) == expected

    def test_equivalent_inputs_give_equal_keys(self, make_check) -> None:
        first = make_check()
        second = make_check(
            buyer={"email": "Anna.Schmidt+shop@WEB.de", "phone": "+49 171 2345678"},
            billing_address={"street": "Berger Str.", "city": "Frankfurt", "first_name": "ANNA"},
        )
        assert identity_keys(first, SECRET) == identity_keys(second, SECRET)

    def test_keys_depend_on_the_installation_secret(self, make_check) -> None:
        check = make_check()
        assert identity_keys(check, SECRET).email != identity_keys(check, b"other-secret").email

    def test_every_kind_has_its_own_key(self, make_check) -> None:
        keys = identity_keys(make_check(), SECRET).as_dict()
        shipping = keys.pop("shipping_address")
        assert len(set(keys.values())) == len(keys) == 6
        assert all(len(value) == 64 for value in keys.values())
        assert shipping == keys["address"]  # no shipping address sent: goods go to the billing address

    def test_shipping_address_key_matches_a_billing_address_key(self, make_check) -> None:
        billing_elsewhere = make_check(
            billing_address={"street": "Zeil", "house_number": "1", "postal_code": "60313"}
        )
        shipped_there = make_check(
            shipping_address={
                "first_name": "Anna",
                "last_name": "Schmidt",
                "street": "Zeil",
                "house_number": "1",
                "postal_code": "60313",
                "city": "Frankfurt am Main",
                "country": "DE",
            }
        )
        assert (
            identity_keys(shipped_there, SECRET).shipping_address
            == identity_keys(billing_elsewhere, SECRET).address
        )

    def test_missing_data_gives_empty_keys(self, make_check) -> None:
        keys = identity_keys(make_check(buyer={"phone": "", "email": ""}, ip=""), SECRET)
        assert (keys.phone, keys.email, keys.ip) == ("", "", "")

    def test_refuses_an_empty_secret(self, make_check) -> None:
        with pytest.raises(ValueError, match="secret"):
            identity_keys(make_check(), b"")

    @pytest.mark.parametrize(
        "overrides",
        [
            {},
            {"billing_address": {"first_name": "", "last_name": ""}},  # the buyer's name stands in
            {"billing_address": {"first_name": "Jörg"}, "buyer": {"first_name": "Joerg"}},
            {"billing_address": {"last_name": ""}, "buyer": {"last_name": "Öztürk"}},
            {
                "buyer": {"first_name": "", "last_name": ""},
                "billing_address": {"first_name": "", "last_name": ""},
            },
            {"billing_address": {"street": "", "postal_code": "", "city": ""}},
            {
                "shipping_address": {
                    "first_name": "Anna",
                    "street": "Zeil",
                    "postal_code": "60313",
                    "country": "DE",
                }
            },
            {"shipping_address": {"first_name": "Anna", "last_name": "Schmidt", "country": "DE"}},
            {  # another person at the billing address: its location's key
                "shipping_address": {
                    "first_name": "Ben",
                    "last_name": "Schmidt",
                    "street": "Berger Str.",
                    "house_number": "12",
                    "postal_code": "60316",
                    "country": "DE",
                }
            },
            {"ip": "2003:c0de::1", "buyer": {"phone": "030 1234567"}},
        ],
    )
    def test_keys_are_the_hashes_of_the_public_normalisations(self, make_check, overrides) -> None:
        """Each normalised form is computed once per check; the keys stay those of the functions one by one."""
        check = make_check(**overrides)
        billing, buyer = check.billing, check.buyer
        expected = IdentityKeys(
            email=keyed_hash(SECRET, "email", normalise_email(buyer.email)),
            phone=keyed_hash(SECRET, "phone", normalise_phone(buyer.phone, billing.country)),
            name=keyed_hash(
                SECRET,
                "name",
                normalise_name(billing.first_name or buyer.first_name, billing.last_name or buyer.last_name),
            ),
            name_address=keyed_hash(SECRET, "name_address", normalise_name_address(billing)),
            address=keyed_hash(SECRET, "address", normalise_address(billing)),
            shipping_address=keyed_hash(SECRET, "address", normalise_address(check.shipping or billing)),
            ip=keyed_hash(SECRET, "ip", normalise_ip(check.ip)),
        )
        assert identity_keys(check, SECRET) == expected
