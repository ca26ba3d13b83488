"""Render the ClaimBridge Shopware app manifest and build the zip a merchant uploads."""

from __future__ import annotations

import io
import re
import zipfile
from importlib.resources import files
from urllib.parse import urlsplit
from xml.etree import ElementTree as ET

from backend.config import SHOPWARE_PLACEHOLDER_SECRET as PLACEHOLDER_SECRET
from connectors.shops.base import (
    INVOICE_NOTICE_FIELD,
    INVOICE_REFUSED_FIELD,
    NOTES_FIELD,
    PAID_AMOUNT_FIELD,
    PAID_AT_FIELD,
)

APP_NAME = "ClaimBridge"
APP_VERSION = "1.0.0"
ICON_PATH = "Resources/config/plugin.png"
# Checkout gateway from 6.6.3.0; the app is built and tested against 6.6.3 up to 6.7 (Composer constraint).
COMPATIBILITY = ">=6.6.3.0"
COMPATIBILITY_WITHOUT_GATEWAY = ">=6.6.0.0"
SCHEMA_LOCATION = "https://raw.githubusercontent.com/shopware/shopware/trunk/src/Core/Framework/App/Manifest/Schema/manifest-2.0.xsd"

REGISTRATION_PATH = "/shopware/register"
CONFIRMATION_PATH = "/shopware/register/confirm"
LIFECYCLE_PATH = "/shopware/lifecycle"
WEBHOOK_PATH = "/shopware/webhooks"
CHECKOUT_GATEWAY_PATH = "/shopware/checkout-gateway"
ADMIN_MODULE_PATH = "/shopware/admin/handovers"
HANDOVER_ACTION_PATH = "/shopware/actions/handover"
PRIVACY_PATH = "/shopware/privacy"

ADMIN_MODULE_NAME = "claimbridge-handovers"
HANDOVER_ACTION_DETAIL = "claimbridge-handover-detail"
HANDOVER_ACTION_LIST = "claimbridge-handover-list"

LIFECYCLE_EVENTS = ("app.installed", "app.updated", "app.activated", "app.deactivated", "app.deleted")
ORDER_PLACED_EVENT = "checkout.order.placed"
# A buyer switched the payment method of a placed order (``/store-api/order/payment``, never gated).
PAYMENT_METHOD_CHANGED_EVENT = "checkout.order.payment_method.changed"
ORDER_CANCELLED_EVENT = "state_enter.order.state.cancelled"
PAYMENT_STATES = (
    "paid",
    "paid_partially",
    "reminded",
    "cancelled",
    "refunded",
    "refunded_partially",
    "chargeback",
    "open",
)
# Only business events Shopware can hook (order_transaction.written is not: order_transaction is not among
# HookableEventCollector::HOOKABLE_ENTITIES, and app:install refuses such a manifest). Each needs order:read;
# the payment method change also order_transaction:read.
# The order entity written (hookable; order:read): an edit in the Administration such as a credit added to an
# invoice order (a partial refund, listed on a credit note) changes no state, so only this tells us at once.
ORDER_WRITTEN_EVENT = "order.written"
ORDER_EVENTS = (
    ORDER_PLACED_EVENT,
    PAYMENT_METHOD_CHANGED_EVENT,
    ORDER_CANCELLED_EVENT,
    *(f"state_enter.order_transaction.state.{state}" for state in PAYMENT_STATES),
    ORDER_WRITTEN_EVENT,
)

CUSTOM_FIELD_CASE_STATUS = "claimbridge_case_status"
CUSTOM_FIELD_CASE_ID = "claimbridge_case_id"
CUSTOM_FIELD_HANDED_OVER_AT = "claimbridge_handed_over_at"
CUSTOM_FIELD_RISK_CHECK_ID = "claimbridge_risk_check_id"
CUSTOM_FIELD_INVOICE_BLOCKED = "claimbridge_invoice_blocked"

# Exactly what the code uses: the order search and its associations, countries, invoice documents (read);
# custom fields of orders and customers (update); admin notifications. Payment transitions need no privilege
# of their own (OrderActionController runs them in the system scope).
PERMISSIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "read",
        (
            "order",
            "order_transaction",
            "order_customer",
            "order_address",
            "order_line_item",
            "order_delivery",
            "document",
            "document_type",
            "customer",
            "payment_method",
            "currency",
            "country",
            "state_machine_state",
            # The Administration answers the Admin Extension SDK's contextUserInformation (who is signed in,
            # recorded with the console's decisions) only for apps that may read users (context.init.ts).
            "user",
        ),
    ),
    ("update", ("order", "customer")),
    ("permission", ("notification:create",)),
)

Labels = tuple[tuple[str, str], ...]
"""(language, text) pairs; the first language is the default en-GB."""

# What the merchant adds to the shop's privacy policy (also shown on the page at PRIVACY_PATH).
PRIVACY_POLICY_EXTENSIONS: Labels = (
    (
        "en-GB",
        "To decide whether invoice payment can be offered, this shop sends the buyer's name, e-mail, "
        "phone, date of birth, billing and shipping address, cart amount and payment methods to "
        "ClaimBridge (legitimate interest, Art. 6(1)(f) GDPR). Unpaid invoices may be handed over to a "
        "collection agency after review by the shop.",
    ),
    (
        "de-DE",
        "Um zu entscheiden, ob Kauf auf Rechnung angeboten werden kann, übermittelt dieser Shop Name, "
        "E-Mail, Telefonnummer, Geburtsdatum, Rechnungs- und Lieferadresse, Warenkorbbetrag und "
        "Zahlungsarten des Käufers an ClaimBridge (berechtigtes Interesse, Art. 6 Abs. 1 lit. f DSGVO). "
        "Unbezahlte Rechnungen können nach Prüfung durch den Shop an ein Inkassounternehmen übergeben "
        "werden.",
    ),
)

_APP_NAME_FORM = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_XSI = "http://www.w3.org/2001/XMLSchema-instance"
# A fixed date makes two builds of the same manifest byte-identical.
_ZIP_ENTRY_DATE = (2024, 1, 1, 0, 0, 0)

ET.register_namespace("xsi", _XSI)


def render_manifest(
    base_url: str,
    app_secret: str,
    *,
    app_name: str = APP_NAME,
    version: str = APP_VERSION,
    with_icon: bool = True,
    checkout_gateway: bool = True,
    privacy_url: str | None = None,
) -> str:
    """Return manifest.xml for an app server at base_url (checkout_gateway=False for shops before 6.6.3).

    ``privacy_url`` is the operator's privacy policy; by default the page this server shows at PRIVACY_PATH.
    """
    base = normalise_base_url(base_url)
    if not _APP_NAME_FORM.fullmatch(app_name):
        raise ValueError("the app name must be letters, digits and underscores, starting with a letter")
    if not app_secret.strip():
        raise ValueError("the app secret must not be empty")

    root = ET.Element("manifest", {f"{{{_XSI}}}noNamespaceSchemaLocation": SCHEMA_LOCATION})
    _meta(
        root,
        app_name,
        version,
        with_icon,
        privacy_url=privacy_url or base + PRIVACY_PATH,
        compatibility=COMPATIBILITY if checkout_gateway else COMPATIBILITY_WITHOUT_GATEWAY,
    )
    setup = ET.SubElement(root, "setup")
    _text(setup, "registrationUrl", base + REGISTRATION_PATH)
    if app_secret == PLACEHOLDER_SECRET:
        setup.append(
            ET.Comment(" Placeholder: write your own manifest with `claimbridge shopware manifest`. ")
        )
    _text(setup, "secret", app_secret)
    _admin(root, base)
    _permissions(root)
    _custom_fields(root)
    _webhooks(root, base)
    if checkout_gateway:
        gateways = ET.SubElement(root, "gateways")
        _text(gateways, "checkout", base + CHECKOUT_GATEWAY_PATH)

    ET.indent(root, space="    ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def build_app_zip(
    base_url: str,
    app_secret: str,
    *,
    app_name: str = APP_NAME,
    version: str = APP_VERSION,
    icon: bytes | None = None,
    checkout_gateway: bool = True,
    privacy_url: str | None = None,
) -> bytes:
    """Return the zip to upload in the Administration: ``<AppName>/manifest.xml`` and the PNG icon.

    ``icon`` replaces ClaimBridge's own icon (``assets/plugin.png``).
    """
    icon = default_icon() if icon is None else icon
    if not icon.startswith(_PNG_SIGNATURE):
        raise ValueError("the app icon must be a PNG image")
    manifest = render_manifest(
        base_url,
        app_secret,
        app_name=app_name,
        version=version,
        checkout_gateway=checkout_gateway,
        privacy_url=privacy_url,
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        _add_zip_entry(archive, f"{app_name}/manifest.xml", manifest.encode("utf-8"))
        _add_zip_entry(archive, f"{app_name}/{ICON_PATH}", icon)
    return buffer.getvalue()


def default_icon() -> bytes:
    """Return ClaimBridge's app icon (the same file as plugins/shopware/Resources/config/plugin.png)."""
    return files("backend.shopware").joinpath("assets", "plugin.png").read_bytes()


def normalise_base_url(base_url: str) -> str:
    """Return the public base URL without trailing slash; raise ValueError unless it is an absolute http(s) URL."""
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("the public base URL must be an absolute http(s) URL")
    if parts.query or parts.fragment:
        raise ValueError("the public base URL must not carry a query or fragment")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def _meta(
    root: ET.Element, app_name: str, version: str, with_icon: bool, *, privacy_url: str, compatibility: str
) -> None:
    meta = ET.SubElement(root, "meta")
    _text(meta, "name", app_name)
    _labelled(meta, "label", (("en-GB", "ClaimBridge"), ("de-DE", "ClaimBridge")))
    _labelled(
        meta,
        "description",
        (
            (
                "en-GB",
                "Risk check at checkout hides invoice payment for risky buyers; tracks open invoices, "
                "dunning under German law and approved handover to collection agencies.",
            ),
            (
                "de-DE",
                "Risikoprüfung im Checkout blendet Kauf auf Rechnung für riskante Käufer aus; verfolgt offene "
                "Rechnungen, Mahnwesen nach deutschem Recht und die freigegebene Übergabe an Inkassodienste.",
            ),
        ),
    )
    _text(meta, "author", "ClaimBridge")
    _text(meta, "copyright", "(c) ClaimBridge")
    _text(meta, "version", version)
    if with_icon:
        _text(meta, "icon", ICON_PATH)
    _text(meta, "license", "Proprietary")
    _text(meta, "compatibility", compatibility)
    _text(meta, "privacy", privacy_url)
    _labelled(meta, "privacyPolicyExtensions", PRIVACY_POLICY_EXTENSIONS)


def _admin(root: ET.Element, base: str) -> None:
    admin = ET.SubElement(root, "admin")
    for action, view in ((HANDOVER_ACTION_DETAIL, "detail"), (HANDOVER_ACTION_LIST, "list")):
        button = ET.SubElement(
            admin,
            "action-button",
            {"action": action, "entity": "order", "view": view, "url": base + HANDOVER_ACTION_PATH},
        )
        _labelled(
            button,
            "label",
            (
                ("en-GB", "Hand over to collection (ClaimBridge)"),
                ("de-DE", "An Inkasso übergeben (ClaimBridge)"),
            ),
        )
    module = ET.SubElement(
        admin,
        "module",
        {
            "name": ADMIN_MODULE_NAME,
            "parent": "sw-order",
            "source": base + ADMIN_MODULE_PATH,
            "position": "50",
        },
    )
    _labelled(module, "label", (("en-GB", "Collection handovers"), ("de-DE", "Inkasso-Übergaben")))


def _permissions(root: ET.Element) -> None:
    permissions = ET.SubElement(root, "permissions")
    for privilege, entities in PERMISSIONS:
        for entity in entities:
            _text(permissions, privilege, entity)


def _custom_fields(root: ET.Element) -> None:
    custom_fields = ET.SubElement(root, "custom-fields")
    order_set = _custom_field_set(
        custom_fields, "claimbridge_order", "order", (("en-GB", "ClaimBridge"), ("de-DE", "ClaimBridge"))
    )
    _custom_field(
        order_set, "text", CUSTOM_FIELD_CASE_STATUS, 1, (("en-GB", "Case status"), ("de-DE", "Fallstatus"))
    )
    _custom_field(
        order_set,
        "text",
        CUSTOM_FIELD_CASE_ID,
        2,
        (("en-GB", "Collection case ID"), ("de-DE", "Inkasso-Aktenzeichen")),
    )
    _custom_field(
        order_set,
        "datetime",
        CUSTOM_FIELD_HANDED_OVER_AT,
        3,
        (("en-GB", "Handed over to collection at"), ("de-DE", "An Inkasso übergeben am")),
    )
    _custom_field(
        order_set,
        "text",
        CUSTOM_FIELD_RISK_CHECK_ID,
        4,
        (("en-GB", "Risk check ID"), ("de-DE", "Risikoprüfungs-ID")),
    )
    _custom_field(
        order_set,
        "text",
        PAID_AMOUNT_FIELD,
        5,
        (("en-GB", "Paid amount (ClaimBridge)"), ("de-DE", "Bezahlter Betrag (ClaimBridge)")),
    )
    _custom_field(
        order_set,
        "datetime",
        PAID_AT_FIELD,
        6,
        (("en-GB", "Paid at (ClaimBridge)"), ("de-DE", "Bezahlt am (ClaimBridge)")),
    )
    _custom_field(
        order_set,
        "bool",
        INVOICE_REFUSED_FIELD,
        7,
        (
            ("en-GB", "Invoice not allowed for this buyer"),
            ("de-DE", "Rechnungskauf für diesen Käufer nicht freigegeben"),
        ),
        help_text=(
            (
                "en-GB",
                "Set by ClaimBridge when the buyer switched to invoice after ordering although the risk check "
                "does not allow it; ask for another payment before shipping.",
            ),
            (
                "de-DE",
                "Von ClaimBridge gesetzt, wenn der Käufer nach der Bestellung auf Rechnung gewechselt hat, obwohl "
                "die Risikoprüfung das nicht erlaubt; vor dem Versand eine andere Zahlung erbitten.",
            ),
        ),
    )
    _custom_field(
        order_set,
        "text-area",
        NOTES_FIELD,
        8,
        (("en-GB", "ClaimBridge notes"), ("de-DE", "ClaimBridge-Notizen")),
    )
    _custom_field(
        order_set,
        "bool",
        INVOICE_NOTICE_FIELD,
        9,
        (
            ("en-GB", "Invoice carried the notice of §286(3) BGB"),
            ("de-DE", "Rechnung enthielt den Hinweis nach § 286 Abs. 3 BGB"),
        ),
        help_text=(
            (
                "en-GB",
                "Tick when this order's invoice told the buyer that default follows 30 days after the due date "
                "and receipt; empty means your claim settings apply.",
            ),
            (
                "de-DE",
                "Ankreuzen, wenn die Rechnung dieser Bestellung auf den Verzug 30 Tage nach Fälligkeit und Zugang "
                "hingewiesen hat; leer bedeutet: Ihre Forderungseinstellungen gelten.",
            ),
        ),
    )
    customer_set = _custom_field_set(
        custom_fields,
        "claimbridge_customer",
        "customer",
        (("en-GB", "ClaimBridge"), ("de-DE", "ClaimBridge")),
    )
    _custom_field(
        customer_set,
        "bool",
        CUSTOM_FIELD_INVOICE_BLOCKED,
        1,
        (("en-GB", "Invoice payment blocked"), ("de-DE", "Kauf auf Rechnung gesperrt")),
        help_text=(
            ("en-GB", "Set by ClaimBridge; use it in an availability rule of the invoice payment method."),
            (
                "de-DE",
                "Von ClaimBridge gesetzt; in einer Verfügbarkeitsregel der Zahlungsart Rechnung verwenden.",
            ),
        ),
    )


def _custom_field_set(parent: ET.Element, name: str, entity: str, labels: Labels) -> ET.Element:
    field_set = ET.SubElement(parent, "custom-field-set")
    _text(field_set, "name", name)
    _labelled(field_set, "label", labels)
    related = ET.SubElement(field_set, "related-entities")
    ET.SubElement(related, entity)
    return ET.SubElement(field_set, "fields")


def _custom_field(
    fields: ET.Element, kind: str, name: str, position: int, labels: Labels, *, help_text: Labels = ()
) -> None:
    field = ET.SubElement(fields, kind, {"name": name})
    _labelled(field, "label", labels)
    _labelled(field, "help-text", help_text)
    _text(field, "position", str(position))


def _webhooks(root: ET.Element, base: str) -> None:
    webhooks = ET.SubElement(root, "webhooks")
    for event in LIFECYCLE_EVENTS:
        _webhook(webhooks, event, base + LIFECYCLE_PATH)
    for event in ORDER_EVENTS:
        _webhook(webhooks, event, base + WEBHOOK_PATH)


def _webhook(parent: ET.Element, event: str, url: str) -> None:
    name = "claimbridge-" + re.sub(r"[^a-z0-9]+", "-", event.lower())
    ET.SubElement(parent, "webhook", {"name": name, "url": url, "event": event})


def _labelled(parent: ET.Element, tag: str, labels: Labels) -> None:
    for language, text in labels:
        element = _text(parent, tag, text)
        if language != "en-GB":
            element.set("lang", language)


def _text(parent: ET.Element, tag: str, text: str) -> ET.Element:
    element = ET.SubElement(parent, tag)
    element.text = text
    return element


def _add_zip_entry(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    entry = zipfile.ZipInfo(name, date_time=_ZIP_ENTRY_DATE)
    entry.compress_type = zipfile.ZIP_DEFLATED
    entry.external_attr = 0o644 << 16
    archive.writestr(entry, data)
