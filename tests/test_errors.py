import sqlalchemy as sa

from backend.audit.models import AuditEvent


class TestJsonErrors:
    def test_unknown_path_is_json_404(self, client):
        response = client.get("/nope")
        assert response.status_code == 404
        assert response.get_json()["error"] == "not_found"

    def test_wrong_method_is_json_405_with_allow(self, client):
        response = client.delete("/healthz")
        assert response.status_code == 405
        assert response.get_json()["error"] == "method_not_allowed"
        assert "GET" in response.headers["Allow"]

    def test_oversized_body_is_413(self, client):
        response = client.post("/oauth/token", data="x" * (1024 * 1024 + 1), content_type="text/plain")
        assert response.status_code == 413
        assert response.get_json()["error"] == "request_entity_too_large"

    def test_non_json_api_body_is_415(self, client, merchant, auth_headers):
        response = client.post(
            "/api/v1/merchant",
            data="a=b",
            content_type="application/x-www-form-urlencoded",
            headers=auth_headers(merchant),
        )
        assert response.status_code == 415
        assert response.get_json()["error"] == "unsupported_media_type"

    def test_a_multipart_body_is_415_where_the_view_takes_json(self, client, db, merchant, auth_headers):
        # A view reading JSON took the form for an empty document: 200, and an audit event of a change.
        headers = auth_headers(merchant, "settings:write")
        events = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
        response = client.put(
            "/api/v1/claim-settings",
            data={"interest": "yes"},
            content_type="multipart/form-data",
            headers=headers,
        )
        assert response.status_code == 415
        assert response.get_json()["error"] == "unsupported_media_type"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == events

    def test_every_error_has_message_and_details_keys(self, client):
        body = client.get("/nope").get_json()
        assert set(body) == {"error", "message", "details"}


class TestInputsTheDatabaseCannotHold:
    """Found by schemathesis: such inputs reached the database and answered 500."""

    def test_row_id_beyond_integer_range_is_404(self, client, merchant, auth_headers):
        headers = auth_headers(merchant, "handovers:read")
        response = client.get("/api/v1/handovers/32589158477190044729", headers=headers)
        assert response.status_code == 404
        assert response.get_json()["error"] == "not_found"

    def test_page_beyond_reason_is_422(self, client, merchant, auth_headers):
        headers = auth_headers(merchant, "handovers:read")
        response = client.get("/api/v1/handovers?page=196166411401334400", headers=headers)
        assert response.status_code == 422
        assert "/query/page" in response.get_json()["details"]

    def test_ids_in_a_body_beyond_integer_range_are_422(self, client, merchant, auth_headers):
        headers = auth_headers(merchant, "handovers:write")
        body = {"ids": [-475586413736756635324383232], "by": "chef@shop.de"}
        response = client.post("/api/v1/handovers/approve", json=body, headers=headers)
        assert response.status_code == 422
        assert "/ids/0" in response.get_json()["details"]

    def test_unpaired_surrogate_in_json_is_422_naming_the_field(self, client, merchant, auth_headers):
        headers = {**auth_headers(merchant, "settings:write"), "Content-Type": "application/json"}
        response = client.put(
            "/api/v1/buyer-overrides", data='{"email": "a\\ud800@b.de", "mode": null}', headers=headers
        )
        assert response.status_code == 422
        assert "surrogate" in response.get_json()["details"]["/email"][0]
