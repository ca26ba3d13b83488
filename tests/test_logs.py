import json
import logging
import re

from backend.logs import JsonFormatter, loggable


class TestRequestLog:
    def test_one_line_per_request_with_id_and_merchant(self, client, merchant, auth_headers, caplog):
        headers = auth_headers(merchant)
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="claimbridge.access"):
            response = client.get("/api/v1/merchant", headers={**headers, "X-Request-Id": "req-12345678"})
        records = [r for r in caplog.records if r.name == "claimbridge.access"]
        assert len(records) == 1
        record = records[0]
        assert response.headers["X-Request-Id"] == "req-12345678"
        assert record.request_id == "req-12345678"
        assert record.merchant_id == merchant.id
        assert record.status == 200
        assert headers["Authorization"].split()[1] not in caplog.text

    def test_a_path_cannot_write_a_second_line(self, client, caplog):
        with caplog.at_level(logging.INFO, logger="claimbridge.access"):
            client.get("/healthz%0a2026-12-08 INFO claimbridge.access GET /forged 200")
        [record] = [r for r in caplog.records if r.name == "claimbridge.access"]
        assert "\n" not in record.getMessage()
        assert record.path == "/healthz\\n2026-12-08 INFO claimbridge.access GET /forged 200"

    def test_a_request_without_a_usable_id_gets_a_new_random_one(self, client, merchant, auth_headers):
        headers = auth_headers(merchant)
        ids = [
            client.get("/api/v1/merchant", headers={**headers, "X-Request-Id": sent}).headers["X-Request-Id"]
            for sent in ("", "bad id!", "")
        ]
        assert all(re.fullmatch("[0-9a-f]{32}", request_id) for request_id in ids)
        assert len(set(ids)) == 3

    def test_an_id_ending_in_a_line_break_is_not_taken(self, client, merchant, auth_headers):
        # A server joining folded header lines could pass one on; the id goes into every log line and header.
        response = client.get(
            "/api/v1/merchant",
            headers=auth_headers(merchant),
            environ_overrides={"HTTP_X_REQUEST_ID": "req-12345678\n"},
        )
        assert re.fullmatch("[0-9a-f]{32}", response.headers["X-Request-Id"])

    def test_token_secrets_never_logged(self, client, merchant, create_credentials, caplog):
        client_id, secret = create_credentials(merchant)
        with caplog.at_level(logging.DEBUG):
            body = client.post(
                "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
            ).get_json()
            client.post(
                "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, "wrong-secret")
            )
        assert secret not in caplog.text
        assert "wrong-secret" not in caplog.text
        assert body["access_token"] not in caplog.text


class TestJsonFormatter:
    def test_formats_extra_fields_as_json(self):
        record = logging.makeLogRecord({"msg": "GET %s", "args": ("/x",), "levelname": "INFO", "status": 200})
        line = json.loads(JsonFormatter().format(record))
        assert line["message"] == "GET /x"
        assert line["status"] == 200


def test_characters_that_could_forge_a_log_line_are_escaped():
    assert loggable("/x\nINFO forged\r\x00\u202e/ü\ud800") == "/x\\nINFO forged\\r\\x00\\u202e/ü\\ud800"
    assert loggable("/a\u2028b") == "/a\\u2028b"
    # A backslash sent is told from an escape written here.
    assert loggable("/a\\n") == "/a\\\\n" != loggable("/a\n")
