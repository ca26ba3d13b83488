import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from backend.shopware.signing import (
    APP_SIGNATURE_HEADER,
    MalformedRequestError,
    MissingSignatureError,
    RegistrationRequest,
    ShopSecrets,
    SignatureError,
    StaleTimestampError,
    action_response,
    check_timestamp,
    claimed_shop,
    new_shop_secret,
    notification_action,
    open_modal_action,
    registration_proof,
    registration_response,
    sign,
    sign_json_response,
    signature_matches,
    unverified_iframe_shop_id,
    unverified_shop_id,
    verify_action,
    verify_body,
    verify_confirmation,
    verify_gateway,
    verify_iframe_query,
    verify_registration,
    verify_webhook,
)

REGISTRATION_VECTOR_QUERY = "shop-id=123&shop-url=https://my-shop.com&timestamp=1234567890"
REGISTRATION_VECTOR = "96c91f86c822e11444b7a57b54ef125ed86b1a639c5360d45c5397daa8c3f70b"
PROOF_VECTOR = "a1a38c9580bb3bcd0df226086a9783ba4087671ce4968a4469e451c517fff445"
BODY_VECTOR = "dc46983557fea127b43af721467eb9b3fde2338fe3e14f51952aa8478c13d355"

NOW = datetime(2024, 5, 13, 10, 0, tzinfo=UTC)
NOW_TS = int(NOW.timestamp())
SHOP_SECRET = "shop-secret-0123456789-0123456789-0123456789-0123456789-0123456789"
OLD_SECRET = "old-shop-secret-0123456789-0123456789-0123456789-0123456789-01234"


def clock_at(moment: datetime):
    return lambda: moment


def at_vector_time():
    return datetime.fromtimestamp(1234567890, UTC)


def webhook_body(timestamp: int = NOW_TS) -> bytes:
    return json.dumps(
        {
            "data": {"payload": {"id": "abc", "amountTotal": 249.9}, "event": "checkout.order.placed"},
            "source": {
                "url": "https://shop.example",
                "shopId": "shop1",
                "appVersion": "1.0.0",
                "eventId": "e1",
            },
            "timestamp": timestamp,
        },
        separators=(",", ":"),
    ).encode()


class TestSign:
    def test_matches_registration_vector(self):
        assert sign("my-secret", REGISTRATION_VECTOR_QUERY) == REGISTRATION_VECTOR

    def test_matches_proof_vector(self):
        assert registration_proof("test", "test", "test.de", "test") == PROOF_VECTOR

    def test_matches_body_vector(self):
        assert sign("secret", b"body") == BODY_VECTOR

    def test_signature_matches_ignores_case_and_rejects_garbage(self):
        assert signature_matches("secret", "body", BODY_VECTOR.upper())
        assert not signature_matches("secret", "body", "zz" * 32)
        assert not signature_matches("secret", "body", "ünïcode")
        assert not signature_matches("secret", "body", None)


class TestVerifyRegistration:
    def test_accepts_raw_query_as_the_shop_built_it(self):
        registration = verify_registration(
            REGISTRATION_VECTOR_QUERY.encode(), REGISTRATION_VECTOR, "my-secret", clock=at_vector_time
        )
        assert registration == RegistrationRequest("123", "https://my-shop.com", at_vector_time())

    def test_falls_back_to_rebuilt_query_when_shop_url_arrives_encoded(self):
        encoded = "shop-id=123&shop-url=https%3A%2F%2Fmy-shop.com&timestamp=1234567890"
        registration = verify_registration(encoded, REGISTRATION_VECTOR, "my-secret", clock=at_vector_time)
        assert registration.shop_url == "https://my-shop.com"

    def test_rejects_wrong_app_secret(self):
        with pytest.raises(SignatureError, match="shop '123'"):
            verify_registration(
                REGISTRATION_VECTOR_QUERY, REGISTRATION_VECTOR, "other-secret", clock=at_vector_time
            )

    def test_rejects_tampered_shop_url(self):
        tampered = REGISTRATION_VECTOR_QUERY.replace("my-shop.com", "evil.example")
        with pytest.raises(SignatureError):
            verify_registration(tampered, REGISTRATION_VECTOR, "my-secret", clock=at_vector_time)

    def test_rejects_missing_signature_header(self):
        with pytest.raises(MissingSignatureError, match=APP_SIGNATURE_HEADER):
            verify_registration(REGISTRATION_VECTOR_QUERY, None, "my-secret", clock=at_vector_time)

    def test_rejects_replay_outside_window(self):
        later = clock_at(at_vector_time() + timedelta(minutes=5, seconds=1))
        with pytest.raises(StaleTimestampError, match="301 s old"):
            verify_registration(REGISTRATION_VECTOR_QUERY, REGISTRATION_VECTOR, "my-secret", clock=later)

    @pytest.mark.parametrize(
        "query",
        [
            "shop-id=123&timestamp=1234567890",
            "shop-id=123&shop-id=456&shop-url=https://my-shop.com&timestamp=1234567890",
            "shop-id=123&shop-url=https://my-shop.com&timestamp=",
        ],
    )
    def test_rejects_malformed_query(self, query):
        with pytest.raises(MalformedRequestError):
            verify_registration(query, sign("my-secret", query), "my-secret", clock=at_vector_time)

    @pytest.mark.parametrize(
        ("shop_id", "shop_url"),
        [
            ("123", "http://[::1"),  # urlsplit raises on it
            ("123", "https://" + "a" * 500 + ".example"),  # longer than the column
            ("123", "https://shop%00.example"),
            ("123", "https://"),
            ("1" * 101, "https://my-shop.com"),
            ("12%003", "https://my-shop.com"),
            ("12 3", "https://my-shop.com"),
        ],
    )
    def test_refuses_a_shop_id_or_url_that_cannot_be_one(self, shop_id, shop_url):
        query = f"shop-id={shop_id}&shop-url={shop_url}&timestamp=1234567890"
        with pytest.raises(MalformedRequestError, match=r"shop-id|shop-url"):
            verify_registration(query, sign("my-secret", query), "my-secret", clock=at_vector_time)

    def test_rejects_shop_url_that_is_not_http(self):
        query = "shop-id=123&shop-url=file:///etc/passwd&timestamp=1234567890"
        with pytest.raises(MalformedRequestError, match="http"):
            verify_registration(query, sign("my-secret", query), "my-secret", clock=at_vector_time)

    def test_errors_never_reveal_the_secret(self):
        with pytest.raises(SignatureError) as caught:
            verify_registration(REGISTRATION_VECTOR_QUERY, "00" * 32, "my-secret", clock=at_vector_time)
        assert "my-secret" not in str(caught.value)
        assert REGISTRATION_VECTOR not in str(caught.value)


class TestRegistrationResponse:
    def test_answers_proof_secret_and_confirmation_url(self):
        registration = RegistrationRequest("test", "test.de", NOW)
        answer = registration_response(
            registration,
            app_secret="test",
            app_name="test",
            shop_secret="s" * 64,
            confirmation_url="https://app.example/shopware/register/confirm",
        )
        assert answer == {
            "proof": PROOF_VECTOR,
            "secret": "s" * 64,
            "confirmation_url": "https://app.example/shopware/register/confirm",
        }

    def test_new_shop_secrets_are_long_and_unique(self):
        generated = {new_shop_secret() for _ in range(20)}
        assert len(generated) == 20
        assert all(len(secret) >= 64 for secret in generated)


class TestVerifyConfirmation:
    # PHP json_encode output: slashes escaped.
    BODY = (
        b'{"apiKey":"SWIAQKZXBM1EOEJ","secretKey":"c2VjcmV0LWtleQ","timestamp":"1715594400",'
        b'"shopUrl":"https:\\/\\/shop.example","shopId":"hRCw2xo1EDZnLco4"}'
    )

    def verify(self, body=BODY, **options):
        options.setdefault("clock", clock_at(datetime.fromtimestamp(1715594400, UTC)))
        return verify_confirmation(
            body, options.pop("signature", sign(SHOP_SECRET, body)), SHOP_SECRET, **options
        )

    def test_accepts_php_encoded_body_signed_with_new_secret(self):
        confirmation = self.verify()
        assert confirmation.shop_url == "https://shop.example"
        assert confirmation.shop_id == "hRCw2xo1EDZnLco4"
        assert (confirmation.api_key, confirmation.secret_key) == ("SWIAQKZXBM1EOEJ", "c2VjcmV0LWtleQ")

    def test_verifies_raw_bytes_not_a_reserialisation(self):
        reserialised = json.dumps(json.loads(self.BODY), separators=(",", ":")).encode()
        assert reserialised != self.BODY
        with pytest.raises(SignatureError):
            self.verify(signature=sign(SHOP_SECRET, reserialised))

    def test_rejects_tampered_body(self):
        with pytest.raises(SignatureError):
            self.verify(body=self.BODY.replace(b"SWIAQ", b"SWIAX"), signature=sign(SHOP_SECRET, self.BODY))

    def test_re_registration_requires_previous_secret_signature(self):
        with pytest.raises(MissingSignatureError, match="previous secret"):
            self.verify(previous_secret=OLD_SECRET)
        with pytest.raises(SignatureError, match="previous secret"):
            self.verify(previous_secret=OLD_SECRET, previous_signature=sign("someone-else", self.BODY))
        confirmation = self.verify(previous_secret=OLD_SECRET, previous_signature=sign(OLD_SECRET, self.BODY))
        assert confirmation.shop_id == "hRCw2xo1EDZnLco4"

    def test_rejects_stale_confirmation(self):
        with pytest.raises(StaleTimestampError):
            self.verify(clock=clock_at(datetime.fromtimestamp(1715594400 + 3600, UTC)))

    def test_rejects_body_without_credentials(self):
        body = b'{"timestamp":"1715594400","shopUrl":"https:\\/\\/shop.example","shopId":"x"}'
        with pytest.raises(MalformedRequestError, match="apiKey"):
            self.verify(body=body, signature=sign(SHOP_SECRET, body))

    def test_repr_hides_credentials(self):
        assert "c2VjcmV0LWtleQ" not in repr(self.verify())


class TestShopSecrets:
    def test_previous_secret_honoured_within_grace_period(self):
        secrets = ShopSecrets(SHOP_SECRET, OLD_SECRET, rotated_at=NOW)
        body = webhook_body()
        verify_body(body, sign(OLD_SECRET, body), secrets, clock=clock_at(NOW + timedelta(seconds=60)))

    def test_previous_secret_rejected_after_grace_period(self):
        secrets = ShopSecrets(SHOP_SECRET, OLD_SECRET, rotated_at=NOW)
        body = webhook_body()
        with pytest.raises(SignatureError):
            verify_body(body, sign(OLD_SECRET, body), secrets, clock=clock_at(NOW + timedelta(seconds=61)))

    def test_current_secret_accepted_after_grace_period(self):
        secrets = ShopSecrets(SHOP_SECRET, OLD_SECRET, rotated_at=NOW)
        body = webhook_body()
        verify_body(body, sign(SHOP_SECRET, body), secrets, clock=clock_at(NOW + timedelta(days=1)))

    def test_previous_secret_without_rotation_time_is_not_accepted(self):
        assert ShopSecrets(SHOP_SECRET, OLD_SECRET).accepted(NOW) == (SHOP_SECRET,)

    def test_repr_hides_secrets(self):
        assert SHOP_SECRET not in repr(ShopSecrets(SHOP_SECRET, OLD_SECRET, rotated_at=NOW))

    def test_requires_aware_rotation_time(self):
        with pytest.raises(ValueError, match="timezone-aware"):
            ShopSecrets(SHOP_SECRET, OLD_SECRET, rotated_at=datetime(2024, 5, 13))


class TestVerifyWebhook:
    secrets = ShopSecrets(SHOP_SECRET)

    def test_returns_body_with_decimal_numbers(self):
        body = webhook_body()
        verified = verify_webhook(body, sign(SHOP_SECRET, body), self.secrets, clock=clock_at(NOW))
        assert verified["data"]["payload"]["amountTotal"] == Decimal("249.9")

    def test_rejects_tampered_body(self):
        body = webhook_body()
        with pytest.raises(SignatureError):
            verify_webhook(
                body.replace(b"249.9", b"0.01"), sign(SHOP_SECRET, body), self.secrets, clock=clock_at(NOW)
            )

    def test_rejects_wrong_secret(self):
        body = webhook_body()
        with pytest.raises(SignatureError):
            verify_webhook(body, sign("not-the-shop-secret", body), self.secrets, clock=clock_at(NOW))

    def test_rejects_missing_signature(self):
        with pytest.raises(MissingSignatureError):
            verify_webhook(webhook_body(), None, self.secrets, clock=clock_at(NOW))

    @pytest.mark.parametrize("offset", [timedelta(minutes=-6), timedelta(minutes=6)])
    def test_rejects_replay_outside_window(self, offset):
        body = webhook_body()
        with pytest.raises(StaleTimestampError):
            verify_webhook(body, sign(SHOP_SECRET, body), self.secrets, clock=clock_at(NOW + offset))

    def test_checks_signature_before_timestamp(self):
        body = webhook_body(timestamp=NOW_TS - 3600)
        with pytest.raises(SignatureError):
            verify_webhook(body, "00" * 32, self.secrets, clock=clock_at(NOW))

    def test_rejects_body_without_timestamp(self):
        body = b'{"data":{"payload":[],"event":"app.activated"},"source":{"shopId":"shop1"}}'
        with pytest.raises(MalformedRequestError, match="no timestamp"):
            verify_webhook(body, sign(SHOP_SECRET, body), self.secrets, clock=clock_at(NOW))


class TestVerifyAction:
    secrets = ShopSecrets(SHOP_SECRET)

    def body(self, timestamp):
        return json.dumps(
            {
                "source": {"url": "https://shop.example", "shopId": "shop1", "appVersion": "1.0.0"},
                "data": {"ids": ["o1"], "entity": "order", "action": "claimbridge-handover-detail"},
                "meta": {"timestamp": timestamp, "reference": "r1", "language": "l1"},
            }
        ).encode()

    def test_accepts_fresh_signed_request(self):
        body = self.body(NOW_TS - 10)
        assert verify_action(body, sign(SHOP_SECRET, body), self.secrets, clock=clock_at(NOW))["data"][
            "ids"
        ] == ["o1"]

    def test_rejects_stale_meta_timestamp(self):
        body = self.body(NOW_TS - 301)
        with pytest.raises(StaleTimestampError, match="action button"):
            verify_action(body, sign(SHOP_SECRET, body), self.secrets, clock=clock_at(NOW))


class TestVerifyGateway:
    def test_accepts_payload_without_timestamp(self):
        body = b'{"source":{"shopId":"shop1"},"cart":{"price":{"totalPrice":249.9}}}'
        payload = verify_gateway(body, sign(SHOP_SECRET, body), ShopSecrets(SHOP_SECRET), clock=clock_at(NOW))
        assert payload["cart"]["price"]["totalPrice"] == Decimal("249.9")

    def test_rejects_body_that_is_not_an_object(self):
        body = b"[1, 2]"
        with pytest.raises(MalformedRequestError, match="not a JSON object"):
            verify_gateway(body, sign(SHOP_SECRET, body), ShopSecrets(SHOP_SECRET), clock=clock_at(NOW))

    @pytest.mark.parametrize(
        "name",
        [
            b'"An\\u0000na"',
            b'"An\\bna"',
            b'"An\x7fna"',
            '"\u202eAnna"'.encode(),
            b'"An\xc2\x85na"',
            b'"Anna\xed\xa0\x80"',
        ],
    )
    def test_unsafe_characters_are_stripped_raw_or_escaped(self, name):
        body = (
            b'{"source":{"shopId":"shop1"},"customer":{"firstName":' + name + b',"lastName":"M\\u00fcller"}}'
        )
        payload = verify_gateway(body, sign(SHOP_SECRET, body), ShopSecrets(SHOP_SECRET), clock=clock_at(NOW))
        assert payload["customer"] == {"firstName": "Anna", "lastName": "Müller"}

    def test_the_body_parsed_to_find_the_shop_is_returned_once_verified(self):
        body = b'{"source":{"shopId":"shop1"},"cart":{"price":{"totalPrice":249.9}}}'
        shop_id, parsed = claimed_shop(body)
        payload = verify_gateway(
            body, sign(SHOP_SECRET, body), ShopSecrets(SHOP_SECRET), clock=clock_at(NOW), parsed=parsed
        )
        assert shop_id == "shop1"
        assert payload is parsed
        with pytest.raises(SignatureError):
            verify_gateway(
                body, sign(OLD_SECRET, body), ShopSecrets(SHOP_SECRET), clock=clock_at(NOW), parsed=parsed
            )


class TestUnverifiedShopId:
    def test_reads_source_shop_id(self):
        assert unverified_shop_id(webhook_body()) == "shop1"

    def test_reads_confirmation_shop_id(self):
        assert unverified_shop_id(b'{"shopId":"abc","apiKey":"k"}') == "abc"

    @pytest.mark.parametrize("body", [b"not json", b'{"source":{}}', b'{"source":{"shopId":5}}'])
    def test_rejects_body_without_shop_id(self, body):
        with pytest.raises(MalformedRequestError):
            unverified_shop_id(body)


class TestVerifyIframeQuery:
    secrets = ShopSecrets(SHOP_SECRET)
    QUERY = (
        f"shop-id=shop1&shop-url=https://shop.example&timestamp={NOW_TS}&sw-version=6.6.10.0"
        "&sw-context-language=2fbb5fe2e29a4d70aa5854ce7ce3e20b&sw-user-language=de-DE"
    )

    def signed(self, query=QUERY, secret=SHOP_SECRET):
        return f"{query}&shopware-shop-signature={sign(secret, query)}"

    def test_returns_verified_parameters(self):
        request = verify_iframe_query(self.signed().encode(), self.secrets, clock=clock_at(NOW))
        assert (request.shop_id, request.shop_url, request.user_language) == (
            "shop1",
            "https://shop.example",
            "de-DE",
        )
        assert request.timestamp == NOW
        assert request.context_language == "2fbb5fe2e29a4d70aa5854ce7ce3e20b"

    def test_keeps_original_encoding(self):
        encoded = self.QUERY.replace("https://shop.example", "https%3A%2F%2Fshop.example")
        request = verify_iframe_query(self.signed(encoded), self.secrets, clock=clock_at(NOW))
        assert request.shop_url == "https://shop.example"

    def test_rejects_reordered_parameters(self):
        first, rest = self.QUERY.split("&", 1)
        reordered = f"{rest}&{first}&shopware-shop-signature={sign(SHOP_SECRET, self.QUERY)}"
        with pytest.raises(SignatureError):
            verify_iframe_query(reordered, self.secrets, clock=clock_at(NOW))

    def test_rejects_changed_language(self):
        tampered = self.signed().replace("sw-user-language=de-DE", "sw-user-language=en-GB")
        with pytest.raises(SignatureError):
            verify_iframe_query(tampered, self.secrets, clock=clock_at(NOW))

    def test_rejects_missing_signature(self):
        with pytest.raises(MissingSignatureError):
            verify_iframe_query(self.QUERY, self.secrets, clock=clock_at(NOW))

    def test_rejects_repeated_signature(self):
        doubled = self.signed() + "&shopware-shop-signature=" + "0" * 64
        with pytest.raises(MalformedRequestError):
            verify_iframe_query(doubled, self.secrets, clock=clock_at(NOW))

    def test_rejects_stale_iframe(self):
        with pytest.raises(StaleTimestampError, match="iframe"):
            verify_iframe_query(self.signed(), self.secrets, clock=clock_at(NOW + timedelta(minutes=16)))

    def test_tolerates_a_shop_clock_some_minutes_off(self):
        for offset in (timedelta(minutes=9), timedelta(minutes=-9), timedelta(minutes=14)):
            verify_iframe_query(self.signed(), self.secrets, clock=clock_at(NOW + offset))
        with pytest.raises(StaleTimestampError, match="future"):
            verify_iframe_query(self.signed(), self.secrets, clock=clock_at(NOW - timedelta(minutes=11)))

    @pytest.mark.parametrize("version", ["6.6.3.0", "6.6.4.1", "6.6.5.1"])
    def test_module_signed_at_login_before_6_6_6_lasts_a_working_day(self, version):
        query = self.QUERY.replace("sw-version=6.6.10.0", f"sw-version={version}")
        verify_iframe_query(self.signed(query), self.secrets, clock=clock_at(NOW + timedelta(hours=11)))
        with pytest.raises(StaleTimestampError):
            verify_iframe_query(self.signed(query), self.secrets, clock=clock_at(NOW + timedelta(hours=13)))

    @pytest.mark.parametrize("version", ["6.6.6.0", "6.7.0.0"])
    def test_module_signed_on_opening_lasts_minutes(self, version):
        query = self.QUERY.replace("sw-version=6.6.10.0", f"sw-version={version}")
        with pytest.raises(StaleTimestampError):
            verify_iframe_query(self.signed(query), self.secrets, clock=clock_at(NOW + timedelta(hours=1)))

    def test_old_secret_rejected_after_grace_period(self):
        rotated = ShopSecrets(SHOP_SECRET, OLD_SECRET, rotated_at=NOW - timedelta(minutes=2))
        with pytest.raises(SignatureError):
            verify_iframe_query(self.signed(secret=OLD_SECRET), rotated, clock=clock_at(NOW))

    def test_names_claimed_shop(self):
        assert unverified_iframe_shop_id(self.signed()) == "shop1"

    def test_refuses_a_claimed_shop_id_that_cannot_be_one(self):
        with pytest.raises(MalformedRequestError, match="shop-id"):
            unverified_iframe_shop_id(self.signed(self.QUERY.replace("shop-id=shop1", "shop-id=shop%001")))

    @pytest.mark.parametrize("version", ["6.6.\u00b2.0", "6.6." + "9" * 5000])
    def test_reads_a_version_with_parts_that_are_no_numbers(self, version):
        # int() refuses "²" (a digit to str.isdigit) and more than 4,300 digits; such parts are left out.
        query = self.QUERY.replace("sw-version=6.6.10.0", f"sw-version={version}")
        assert (
            verify_iframe_query(self.signed(query), self.secrets, clock=clock_at(NOW)).sw_version == version
        )


class TestCheckTimestamp:
    @pytest.mark.parametrize("value", [NOW_TS, str(NOW_TS), Decimal(NOW_TS), f" {NOW_TS} "])
    def test_accepts_unix_seconds_in_any_encoding(self, value):
        assert check_timestamp(value, clock=clock_at(NOW)) == NOW

    def test_window_edges(self):
        assert check_timestamp(NOW_TS - 300, clock=clock_at(NOW))
        with pytest.raises(StaleTimestampError):
            check_timestamp(NOW_TS - 301, clock=clock_at(NOW))
        with pytest.raises(StaleTimestampError, match="in the future"):
            check_timestamp(NOW_TS + 301, clock=clock_at(NOW))

    @pytest.mark.parametrize(
        "value", [None, True, "yesterday", "1e9", {"t": 1}, float("inf"), Decimal("NaN"), 10**20]
    )
    def test_rejects_malformed(self, value):
        with pytest.raises(MalformedRequestError):
            check_timestamp(value, clock=clock_at(NOW))

    @pytest.mark.parametrize("value", [Decimal("1E+13"), Decimal("-1E+400"), Decimal("1E+9999999")])
    def test_refuses_a_number_too_large_before_making_it_an_integer(self, value):
        # A shop body is parsed with parse_float=Decimal: 1e9999999 arrives as itself, and its int() took minutes.
        with pytest.raises(MalformedRequestError, match="up to 12 digits"):
            check_timestamp(value, clock=clock_at(NOW))


class TestSignedResponses:
    def test_signs_exact_body_bytes(self):
        response = sign_json_response([{"command": "x", "payload": {"message": "Grüße"}}], SHOP_SECRET)
        assert response.body == '[{"command":"x","payload":{"message":"Grüße"}}]'.encode()
        assert response.signature == sign(SHOP_SECRET, response.body)
        assert response.headers[APP_SIGNATURE_HEADER] == response.signature

    def test_notification_action(self):
        response = notification_action("success", "2 orders handed over", SHOP_SECRET)
        assert json.loads(response.body) == {
            "actionType": "notification",
            "payload": {"status": "success", "message": "2 orders handed over"},
        }
        assert signature_matches(SHOP_SECRET, response.body, response.signature)

    def test_open_modal_action(self):
        response = open_modal_action(
            "https://app.example/shopware/admin/handovers?ids=o1", SHOP_SECRET, size="large"
        )
        assert json.loads(response.body)["payload"] == {
            "iframeUrl": "https://app.example/shopware/admin/handovers?ids=o1",
            "size": "large",
            "expand": False,
        }

    @pytest.mark.parametrize(
        "build",
        [
            lambda: action_response("explode", {}, SHOP_SECRET),
            lambda: notification_action("loud", "x", SHOP_SECRET),
            lambda: open_modal_action("https://x", SHOP_SECRET, size="huge"),
        ],
    )
    def test_rejects_values_the_shop_does_not_know(self, build):
        with pytest.raises(ValueError):
            build()
