import re

from backend import create_app
from backend.merchants.models import SCOPES


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

    def test_docs_is_swagger_ui_served_from_here_not_a_cdn(self, client):
        response = client.get("/docs")
        assert response.status_code == 200
        assert response.mimetype == "text/html"
        page = response.get_data(as_text=True)
        assert "/openapi.json" in page
        assets = re.findall(r'(?:src|href)="([^"]+)"', page)
        assert assets and all(asset.startswith("/static/swagger-ui/") for asset in assets)
        for asset in assets:
            served = client.get(asset)
            assert served.status_code == 200 and len(served.data) > 10_000
            served.close()

    def test_every_protected_operation_names_its_scopes_and_the_error_body(self, app, client):
        spec = client.get("/openapi.json").get_json()
        flows = spec["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"]
        assert set(flows["scopes"]) == set(SCOPES)
        assert set(spec["components"]["schemas"]["Error"]["properties"]) == {"error", "message", "details"}
        for path, operations in spec["paths"].items():
            for method, operation in operations.items():
                if path.startswith("/api/") and method != "parameters":
                    assert operation["security"], (method, path)
                    assert {"401", "403"} <= set(operation["responses"]), (method, path)

    def test_money_is_documented_as_the_string_it_is_sent_as(self, client):
        schemas = client.get("/openapi.json").get_json()["components"]["schemas"]
        money = schemas["Claim"]["properties"]["total"] if "Claim" in schemas else None
        decimals = [
            prop
            for schema in schemas.values()
            for prop in schema.get("properties", {}).values()
            if prop.get("format") == "decimal"
        ]
        assert decimals and all(prop["type"] == "string" for prop in decimals)
        assert money is None or money["type"] == "string"


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
