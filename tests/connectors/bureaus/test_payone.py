from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from datetime import date
from urllib.parse import parse_qs

import pytest

from connectors import errors
from connectors.bureaus.base import BureauError, BureauPerson
from connectors.bureaus.payone import PERSON_STATUSES, PayoneBureau, parse_response
from tests.fakes.payone import PATH, FakePayone
from tests.fakes.server import FakeServer

PERSON = BureauPerson(
    first_name="Anna",
    last_name="Schmidt",
    street="Berger Str. 12",
    postal_code="60316",
    city="Frankfurt am Main",
    country="DE",
    date_of_birth=date(1985, 4, 12),
)


@pytest.fixture
def payone() -> FakePayone:
    return FakePayone()


@pytest.fixture
def server(payone: FakePayone) -> Iterator[FakeServer]:
    with FakeServer(payone) as running:
        yield running


@pytest.fixture
def make_bureau(server: FakeServer, payone: FakePayone) -> Callable[..., PayoneBureau]:
    def factory(**overrides: object) -> PayoneBureau:
        options: dict[str, object] = {
            "merchant_id": payone.merchant_id,
            "portal_id": payone.portal_id,
            "sub_account_id": payone.sub_account_id,
            "portal_key": payone.portal_key,
            "base_url": server.url + PATH,
            "allow_private": True,
            **overrides,
        }
        return PayoneBureau(**options)  # type: ignore[arg-type]

    return factory


class TestParseResponse:
    def test_reads_key_value_lines(self) -> None:
        assert parse_response("status=VALID\nscore=G\r\nscorevalue=720\n\ncity=Frankfurt am Main\n") == {
            "status": "VALID",
            "score": "G",
            "scorevalue": "720",
            "city": "Frankfurt am Main",
        }

    def test_keeps_equals_signs_in_values(self) -> None:
        assert parse_response("errormessage=a=b")["errormessage"] == "a=b"


class TestPayoneBureau:
    def test_green_person(self, make_bureau) -> None:
        result = make_bureau().score(PERSON)
        assert result.ok
        assert (result.provider, result.traffic_light, result.score_value) == ("payone", "G", 720)
        assert result.person_status == "PPB"
        assert result.person_status_meaning == PERSON_STATUSES["PPB"]

    @pytest.mark.parametrize(("last_name", "light"), [("Rot", "R"), ("Gelb", "Y")])
    def test_traffic_light_follows_the_person(self, make_bureau, last_name: str, light: str) -> None:
        person = BureauPerson(**{**_fields(PERSON), "last_name": last_name})
        assert make_bureau().score(person).traffic_light == light

    def test_returns_the_corrected_address(self, make_bureau) -> None:
        corrected = make_bureau().score(PERSON).corrected_address
        assert corrected is not None
        assert corrected.street == "Berger Straße 12"
        assert (corrected.postal_code, corrected.city) == ("60316", "Frankfurt am Main")

    def test_keeps_only_outcome_fields_for_audit(self, make_bureau) -> None:
        raw = make_bureau().score(PERSON).raw
        assert raw["status"] == "VALID"
        assert not {"firstname", "lastname", "street", "zip", "city"} & set(raw)

    def test_sends_the_documented_parameters(
        self, make_bureau, server: FakeServer, payone: FakePayone
    ) -> None:
        make_bureau(score_type="IB", address_check_type="PE", mode="live").score(PERSON)
        sent = payone.received[-1]
        assert sent["request"] == "consumerscore"
        assert sent["consumerscoretype"] == "IB"
        assert sent["addresschecktype"] == "PE"
        assert sent["mode"] == "live"
        assert sent["encoding"] == "UTF-8"
        assert sent["api_version"]
        assert sent["birthday"] == "19850412"
        assert (sent["firstname"], sent["lastname"], sent["zip"], sent["country"]) == (
            "Anna",
            "Schmidt",
            "60316",
            "DE",
        )
        recorded = server.requests[-1]
        assert recorded.method == "POST"
        assert recorded.headers["Content-Type"] == "application/x-www-form-urlencoded"

    def test_sends_the_md5_of_the_portal_key_never_the_key(self, make_bureau, server, payone) -> None:
        make_bureau().score(PERSON)
        body = server.requests[-1].body.decode()
        assert payone.portal_key not in body
        assert parse_qs(body)["key"] == [hashlib.md5(payone.portal_key.encode()).hexdigest()]  # noqa: S324

    def test_birthday_is_optional(self, make_bureau, payone) -> None:
        make_bureau().score(BureauPerson(**{**_fields(PERSON), "date_of_birth": None}))
        assert "birthday" not in payone.received[-1]

    def test_umlauts_travel_as_utf8(self, make_bureau, payone) -> None:
        person = BureauPerson(**{**_fields(PERSON), "city": "München", "postal_code": "80331"})
        assert make_bureau().score(person).corrected_address.city == "München"  # type: ignore[union-attr]

    def test_invalid_parameters_raise_a_bureau_error_with_the_code(self, make_bureau) -> None:
        with pytest.raises(BureauError) as raised:
            make_bureau().score(BureauPerson(**{**_fields(PERSON), "postal_code": ""}))
        assert raised.value.error_code == "1078"
        assert "zip" in str(raised.value)
        assert raised.value.customer_message

    def test_unknown_score_type_is_invalid(self, make_bureau) -> None:
        with pytest.raises(BureauError) as raised:
            make_bureau(score_type="ZZ").score(PERSON)
        assert raised.value.body["status"] == "INVALID"

    def test_wrong_portal_key_is_an_error(self, make_bureau) -> None:
        with pytest.raises(BureauError) as raised:
            make_bureau(portal_key="wrong").score(PERSON)
        assert raised.value.body["status"] == "ERROR"
        assert isinstance(raised.value, errors.ConnectorError)

    def test_timeout_raises_a_typed_error_without_retrying(self, make_bureau, server: FakeServer) -> None:
        server.delay_next(1, seconds=1.5, path=PATH)
        with pytest.raises(errors.TimeoutError):
            make_bureau(timeout_budget=0.3).score(PERSON)
        assert len(server.requests) == 1

    def test_answers_after_a_slow_response_within_budget(self, make_bureau, server: FakeServer) -> None:
        server.delay_next(1, seconds=0.05, path=PATH)
        assert make_bureau(timeout_budget=1.5).score(PERSON).ok

    def test_server_error_is_typed_and_not_retried(self, make_bureau, server: FakeServer) -> None:
        server.fail_next(1, status=503, path=PATH)
        with pytest.raises(errors.ServerError):
            make_bureau().score(PERSON)
        assert len(server.requests) == 1

    def test_unreachable_bureau_is_a_connection_error(self, make_bureau) -> None:
        bureau = make_bureau(base_url="http://127.0.0.1:9/post-gateway/")
        with pytest.raises(errors.ConnectionError):
            bureau.score(PERSON)

    def test_timeout_budget_splits_connect_and_read(self, make_bureau) -> None:
        connect, read = make_bureau(timeout_budget=1.5).timeout
        assert connect + read == pytest.approx(1.5)
        assert connect <= 0.5

    @pytest.mark.parametrize("options", [{"mode": "prod"}, {"timeout_budget": 0}])
    def test_refuses_bad_configuration(self, make_bureau, options: dict[str, object]) -> None:
        with pytest.raises(ValueError):
            make_bureau(**options)


def _fields(person: BureauPerson) -> dict[str, object]:
    return {name: getattr(person, name) for name in person.__slots__}
