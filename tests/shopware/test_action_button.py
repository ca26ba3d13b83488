"""The order action button: a signed modal with the approval page, or a signed notification."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from backend.handovers.decisions import HandoverRow
from backend.shopware import services
from connectors.shops.base import OrderState
from tests.factories import make_receivable
from tests.fakes.shopware_shop import SHOP_SIGNATURE_HEADER, ShopSimulator, sign
from tests.shopware.conftest import shifted_clock, stored_shop

PROPOSED_ORDER = "0190d1e3b4a5c6d7e8f9a0b1c2d3e4f5"
COLLECTED_ORDER = "0190d1e3b4a5c6d7e8f9a0b1c2d3e4f6"
PAID_ORDER = "0190d1e3b4a5c6d7e8f9a0b1c2d3e4f7"
UNKNOWN_ORDER = "0190d1e3b4a5c6d7e8f9a0b1c2d3e4f8"
HANDOVERS_PAGE = "http://127.0.0.1:5000/shopware/admin/handovers"


def add_receivable(shop: ShopSimulator, external_id: str, number: str, state: str = "open") -> None:
    make_receivable(
        stored_shop(shop.shop_id).connection,
        external_id,
        number=number,
        total="119.00",
        invoiced_on=date(2024, 3, 1),
        state=OrderState.PAID if state == "paid" else OrderState.OPEN,
        in_collection=state == "in_collection",
    )


def proposal(number: str) -> HandoverRow:
    return HandoverRow(
        id=7,
        order_number=number,
        buyer_name="Jana Becker",
        principal=Decimal("119.00"),
        interest=Decimal("1.20"),
        fees=Decimal("45.00"),
        total=Decimal("165.20"),
        currency="EUR",
        status="proposed",
    )


@pytest.fixture
def orders(shop, monkeypatch) -> ShopSimulator:
    """A shop with a proposed, a handed-over and a paid order."""
    add_receivable(shop, PROPOSED_ORDER, "10001")
    add_receivable(shop, COLLECTED_ORDER, "10002", state="in_collection")
    add_receivable(shop, PAID_ORDER, "10003", state="paid")
    merchant_id = stored_shop(shop.shop_id).connection.merchant_id
    monkeypatch.setattr(
        services, "list_handover_rows", lambda mid: [proposal("10001")] if mid == merchant_id else []
    )
    return shop


class TestHandoverAction:
    def test_order_with_a_proposal_opens_the_approval_page(self, orders):
        answer = orders.press_action_button([PROPOSED_ORDER])
        assert answer == {
            "actionType": "openModal",
            "payload": {
                "iframeUrl": f"{HANDOVERS_PAGE}?order_ids={PROPOSED_ORDER}",
                "size": "large",
                "expand": False,
            },
        }

    def test_list_selection_names_only_the_orders_with_something_to_show(self, orders):
        answer = orders.press_action_button(
            [PAID_ORDER, COLLECTED_ORDER, UNKNOWN_ORDER, PROPOSED_ORDER], action="claimbridge-handover-list"
        )
        assert (
            answer["payload"]["iframeUrl"] == f"{HANDOVERS_PAGE}?order_ids={COLLECTED_ORDER},{PROPOSED_ORDER}"
        )

    @pytest.mark.parametrize(
        ("user_language", "message"),
        [
            (
                "de-DE",
                "Für die ausgewählten Bestellungen gibt es keinen Übergabevorschlag und keinen Inkassofall.",
            ),
            ("en-GB", "None of the selected orders has a handover proposal or a collection case."),
        ],
    )
    def test_nothing_eligible_answers_a_notification(self, orders, user_language, message):
        answer = orders.press_action_button([PAID_ORDER, UNKNOWN_ORDER], user_language=user_language)
        assert answer == {"actionType": "notification", "payload": {"status": "info", "message": message}}

    def test_open_order_without_a_proposal_answers_a_notification(self, shop):
        add_receivable(shop, PROPOSED_ORDER, "10001")
        assert shop.press_action_button([PROPOSED_ORDER])["actionType"] == "notification"

    def test_answer_is_signed_with_the_shop_secret(self, orders):
        answer = orders.send(orders.action_request([PROPOSED_ORDER]))
        assert answer.header("shopware-app-signature") == sign(orders.shop_secret, answer.body)

    def test_modal_page_opens_the_console_on_the_selected_orders(self, orders):
        page = orders.open_iframe(
            f"/shopware/admin/handovers?order_ids={PROPOSED_ORDER}", user_language="en-GB"
        )
        assert page.status == 303
        assert "/console/handovers?" in page.header("Location")
        assert f"orders={PROPOSED_ORDER}" in page.header("Location")

    @pytest.mark.parametrize("delta", [timedelta(minutes=-6), timedelta(minutes=6)])
    def test_replayed_or_future_timestamp_is_refused(self, orders, delta):
        orders.clock = shifted_clock(delta)
        answer = orders.send(orders.action_request([PROPOSED_ORDER]))
        assert (answer.status, answer.json()["error"]) == (401, "stale_timestamp")

    def test_bad_signature_is_refused(self, orders):
        request = orders.action_request([PROPOSED_ORDER])
        request.headers[SHOP_SIGNATURE_HEADER] = sign("guessed", request.body)
        assert orders.send(request).status == 401

    def test_tampered_selection_is_refused(self, orders):
        request = orders.action_request([PAID_ORDER])
        request.body = request.body.replace(PAID_ORDER.encode(), PROPOSED_ORDER.encode())
        assert orders.send(request).status == 401

    def test_unknown_shop_is_not_found(self, make_shop):
        stranger = make_shop()
        stranger.shop_secret = "s" * 64
        assert stranger.send(stranger.action_request([PROPOSED_ORDER])).status == 404

    @pytest.mark.parametrize(
        ("ids", "options"),
        [([PROPOSED_ORDER], {"entity": "customer"}), ([], {}), (["not-an-id"], {})],
    )
    def test_malformed_selection_is_unprocessable(self, orders, ids, options):
        assert orders.send(orders.action_request(ids, **options)).status == 422
