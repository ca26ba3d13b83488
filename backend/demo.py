"""Demo data for the quick start: a merchant, an API client with every scope, and sample records."""

from __future__ import annotations

from dataclasses import dataclass

from backend.auth.services import create_client
from backend.extensions import db
from backend.merchants.models import SCOPES, Merchant, ShopConnection
from backend.merchants.services import create_merchant

DEMO_MERCHANT_NAME = "Demo Shop GmbH"


@dataclass(frozen=True)
class DemoResult:
    merchant_id: int
    client_id: str
    client_secret: str

    def as_dict(self) -> dict[str, object]:
        return {
            "merchant_id": self.merchant_id,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
        }

    def instructions(self, base_url: str) -> str:
        """Return copy-and-paste commands that exercise the demo."""
        return f"""Demo merchant {self.merchant_id} ready.
  client_id:     {self.client_id}
  client_secret: {self.client_secret}

Try it (with the server running):
  TOKEN=$(curl -s -u '{self.client_id}:{self.client_secret}' -d grant_type=client_credentials \\
      {base_url}/oauth/token | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  curl -s -H "Authorization: Bearer $TOKEN" {base_url}/api/v1/merchant
  curl -s -H "Authorization: Bearer $TOKEN" {base_url}/api/v1/connections
  curl -s {base_url}/healthz
  open {base_url}/docs for the API reference
"""


def create_demo() -> DemoResult:
    """Create (or reuse) the demo merchant and issue a fresh client for it."""
    merchant = db.session.scalar(db.select(Merchant).filter_by(name=DEMO_MERCHANT_NAME))
    if merchant is None:
        merchant = create_merchant(DEMO_MERCHANT_NAME, actor="demo")
        db.session.add(
            ShopConnection(
                merchant_id=merchant.id,
                platform="api",
                name="Demo accounting export",
                shop_url="https://shop.example.com",
                status="active",
            )
        )
    new = create_client(merchant.id, list(SCOPES), name="demo", actor="demo")
    return DemoResult(
        merchant_id=merchant.id, client_id=new.client.client_id, client_secret=new.client_secret
    )
