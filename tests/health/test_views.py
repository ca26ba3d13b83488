from backend import create_app


class TestHealthz:
    def test_reports_database_ok(self, client):
        response = client.get("/healthz")
        assert response.status_code == 200
        assert response.get_json()["database"] == "ok"

    def test_answers_503_when_database_unreachable(self, tmp_path):
        app = create_app(
            {
                "CLAIMBRIDGE_ENV": "testing",
                "CLAIMBRIDGE_INSTANCE_PATH": str(tmp_path),
                "CLAIMBRIDGE_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
            }
        )
        response = app.test_client().get("/healthz")
        assert response.status_code == 503
        assert response.get_json() == {"status": "unavailable", "database": "unreachable"}


class TestApiDocs:
    def test_openapi_lists_protected_endpoints(self, client):
        spec = client.get("/openapi.json").get_json()
        assert spec["openapi"].startswith("3.")
        assert "/api/v1/merchant" in spec["paths"]
        assert "/api/v1/connections/{connection_id}" in spec["paths"]
        assert "Connection" in spec["components"]["schemas"]

    def test_docs_page_is_readable_html(self, client):
        response = client.get("/docs")
        assert response.status_code == 200
        assert response.mimetype == "text/html"
        assert b"/api/v1/connections" in response.data


def test_openapi_range_bounds_are_numbers(client):
    """OpenAPI requires numeric minimum/maximum; Decimal bounds used to come out as strings."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("minimum", "maximum"):
                    found.append(value)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(client.get("/openapi.json").get_json())
    assert found
    assert all(isinstance(value, int | float) for value in found)
