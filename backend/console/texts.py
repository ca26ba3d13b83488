"""What the console says, in German and English, and how it writes money and dates for each language."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from backend.dates import BERLIN

_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

TEXTS: dict[str, dict[str, Any]] = {
    "de": {
        "product": "ClaimBridge",
        "console": "Forderungsmanagement",
        "skip": "Zum Inhalt springen",
        "signed_in_as": "Angemeldet als",
        "nav_label": "Bereiche",
        "tabs": {
            "overview": "Übersicht",
            "handovers": "Inkasso-Übergaben",
            "receivables": "Forderungen",
            "payments": "Zahlungen",
            "settings": "Einstellungen",
            "audit": "Protokoll",
        },
        "overview_intro": "Was jetzt Ihre Aufmerksamkeit braucht.",
        "nothing_to_do": "Alles erledigt: Zurzeit wartet nichts auf Sie.",
        "attention": {
            "proposals": "Übergabevorschläge, die auf Ihre Entscheidung warten: {count}",
            "payment_reviews": "Zahlungen, die auf Ihre Prüfung warten: {count}",
            "failed_shop_updates": "Geparkte Rückmeldungen an den Shop: {count}",
            "missing_base_rate": "Für das laufende Halbjahr fehlt der Basiszinssatz (§ 247 BGB); "
            "Mahnungen mit Zinsen werden zurückgehalten",
            "missing_payment_details": "Ihre Bankverbindung für Mahnungen fehlt",
            "missing_creditor_address": "Ihre Gläubigeranschrift für das Inkasso fehlt",
            "no_connection": "Kein Shop ist verbunden",
            "connection_problems": "Shop-Verbindungen, die nicht ganz funktionieren: {count}",
        },
        "open_link": "Öffnen",
        "attempts": "Versuche",
        "parked_intro": (
            "Diese Rückmeldungen an Ihren Shop sind zu oft fehlgeschlagen oder ihre Shop-Verbindung ist nicht "
            "aktiv. Sie sind geparkt: Nichts sendet sie, bis Sie sie erneut senden oder verwerfen."
        ),
        "retry_parked": "Erneut senden",
        "discard_parked": "Verwerfen",
        "connections": "Shop-Verbindungen",
        "connection_status": {"active": "Aktiv", "pending": "Ausstehend", "disabled": "Deaktiviert"},
        "last_synced": "Zuletzt abgeglichen",
        "never": "noch nie",
        "platform": "Plattform",
        "shop": "Shop",
        "status": "Status",
        "handovers_intro": (
            "Offene Rechnungen nach der letzten Mahnung: geben Sie sie zur Übergabe an das Inkassobüro frei "
            "oder lehnen Sie sie ab. Ohne Ihre Freigabe wird nichts übergeben."
        ),
        "filter": "Filtern",
        "search": "Suche",
        "search_hint": "Bestellnummer oder Käufer",
        "all_statuses": "Alle Status",
        "order": "Bestellung",
        "buyer": "Käufer",
        "proposed_on": "Vorgeschlagen am",
        "days_overdue": "Tage überfällig",
        "principal": "Hauptforderung",
        "interest": "Zinsen",
        "fees": "Gebühren",
        "total": "Gesamt",
        "select": "Auswählen",
        "select_all": "Alle auswählen",
        "approve": "Freigeben",
        "approve_selected": "Ausgewählte freigeben",
        "reject": "Ablehnen",
        "reject_selected": "Ausgewählte ablehnen",
        "reject_reason": "Grund der Ablehnung",
        "reject_reason_hint": "Pflichtfeld beim Ablehnen, z. B. „Kunde hat Ratenzahlung vereinbart“.",
        "withdraw": "Zurückziehen",
        "withdraw_reason": "Grund für das Zurückziehen",
        "empty_handovers": "Keine Übergaben gefunden.",
        "selected_orders": "Ausgewählte Bestellungen",
        "show_all": "Alle anzeigen",
        "page_of": "Seite {page} von {pages}",
        "previous": "Zurück",
        "next": "Weiter",
        "results": "{total} Einträge",
        "notice": {
            "approved": "Freigegeben: {count}.",
            "rejected": "Abgelehnt: {count}.",
            "withdrawn": "Die Übergabe wurde zurückgezogen.",
            "disputed": "Die Forderung ist als bestritten markiert; Mahnungen ruhen.",
            "dispute_resolved": "Der Streit ist beigelegt.",
            "dunning_stopped": "Die Mahnungen sind gestoppt.",
            "dunning_resumed": "Die Mahnungen laufen wieder.",
            "confirmed": "Zahlung bestätigt und verbucht.",
            "match_rejected": "Zuordnung abgelehnt.",
            "saved": "Gespeichert.",
            "test_notice_sent": "Die Test-Mahnung wurde an {count} gesendet.",
            "reattached": "Die Daten der früheren Installation sind übernommen.",
            "parked_retried": "Die geparkte Rückmeldung wird erneut gesendet.",
            "parked_discarded": "Die geparkte Rückmeldung ist verworfen.",
            "nothing_selected": "Bitte wählen Sie mindestens einen Vorschlag aus.",
            "reason_required": "Bitte geben Sie einen Grund für die Ablehnung an.",
        },
        "statuses": {
            "proposed": "Vorgeschlagen",
            "approved": "Freigegeben",
            "rejected": "Abgelehnt",
            "withdrawn": "Zurückgezogen",
            "submitting": "Wird übergeben",
            "submitted": "Übergeben",
            "rejected_by_agency": "Vom Inkassobüro abgelehnt",
            "closed": "Abgeschlossen",
        },
        "handover": "Übergabe",
        "decision": "Ihre Entscheidung",
        "back_to_list": "Zurück zur Liste",
        "order_and_buyer": "Bestellung und Käufer",
        "email": "E-Mail",
        "address": "Anschrift",
        "debtor_kind": "Schuldnerart",
        "debtor_kinds": {"consumer": "Verbraucher", "business": "Unternehmen"},
        "invoice_date": "Rechnungsdatum",
        "due_date": "Fällig am",
        "notices_sent": "Versendete Mahnungen",
        "no_notices": "Noch keine Mahnung versendet.",
        "notice_kinds": {
            "reminder": "Zahlungserinnerung",
            "dunning": "1. Mahnung",
            "final_notice": "Letzte Mahnung mit Inkasso-Ankündigung",
        },
        "sent_on": "Versendet am",
        "notice_statuses": {
            "queued": "Geplant",
            "sending": "Wird versendet",
            "sent": "Versendet",
            "failed": "Fehlgeschlagen",
            "cancelled": "Zurückgehalten",
        },
        "channel": "Kanal",
        "channels": {"email": "E-Mail", "shop": "Shop", "letter": "Brief", "none": "Ihr eigenes System"},
        "deadline": "Zahlungsfrist bis",
        "fee": "Gebühr",
        "claim_today": "Forderung heute",
        "claim_at_proposal": "Beim Vorschlag festgeschrieben",
        "amount": "Betrag",
        "legal_basis": "Rechtsgrundlage",
        "basis": {
            "principal": "Kaufpreis aus dem Vertrag (§ 433 Abs. 2 BGB)",
            "dunning_fees": "Mahnkosten als Verzugsschaden, nur tatsächliche Kosten (§§ 280, 286 BGB)",
            "flat_fee": "Verzugspauschale für Unternehmen (§ 288 Abs. 5 BGB)",
            "interest": {
                "consumer": "Verzugszinsen: Basiszinssatz + 5 Prozentpunkte (§ 288 Abs. 1 BGB)",
                "business": "Verzugszinsen: Basiszinssatz + 9 Prozentpunkte (§ 288 Abs. 2 BGB)",
            },
            "payments": "Bereits gezahlt (Verrechnung nach § 367 BGB)",
            "credits": "Gutschriften und Erstattungen",
        },
        "payments_received": "Zahlungen",
        "credits": "Gutschriften",
        "outstanding": "Offen",
        "default_since": "Im Verzug seit",
        "limitation": "Verjährung am",
        "readiness": "Voraussetzungen für die Übergabe",
        "ready": "Alle Voraussetzungen sind erfüllt.",
        "case": "Inkassofall",
        "agency": "Inkassobüro",
        "case_id": "Aktenzeichen",
        "legal_stage": "Verfahrensstand",
        "processing_state": "Bearbeitung",
        "payment_state": "Zahlungsstand",
        "collected": "Vom Inkassobüro eingezogen",
        "paid_direct": "Direkt an Sie gezahlt",
        "balance": "Restforderung",
        "decided_by": "Entschieden von",
        "decision_note": "Begründung",
        "history": "Verlauf",
        "error_title": "Das hat nicht geklappt",
        "link_used": "Dieser Link wurde bereits verwendet oder ist abgelaufen. Öffnen Sie die Konsole erneut "
        "aus Ihrem Shop.",
        "session_invalid": "Ihre Sitzung ist abgelaufen oder ungültig. Öffnen Sie die Konsole erneut aus Ihrem "
        "Shop.",
        "not_found": "Diesen Eintrag gibt es nicht.",
        "money_note": "Beträge in {currency}",
        "receivables_intro": "Ihre offenen und erledigten Rechnungen, nach Fälligkeit sortiert.",
        "aging": "Überfälligkeit",
        "aging_buckets": {
            "0-30": "0 bis 30 Tage",
            "31-60": "31 bis 60 Tage",
            "61-90": "61 bis 90 Tage",
            "90+": "über 90 Tage",
        },
        "all_ages": "Jede Überfälligkeit",
        "overdue_only": "Nur überfällige",
        "number": "Rechnungsnummer",
        "state": "Stand",
        "states": {
            "open": "Offen",
            "partially_paid": "Teilweise bezahlt",
            "paid": "Bezahlt",
            "cancelled": "Storniert",
            "refunded": "Erstattet",
            "disputed": "Bestritten",
            "in_collection": "Im Inkasso",
        },
        "all_states": "Jeder Stand",
        "dunning_level": "Mahnstufe",
        "dunning_stopped": "Mahnstopp",
        "empty_receivables": "Keine Forderungen gefunden.",
        "receivable": "Forderung",
        "timeline": "Verlauf",
        "no_events": "Noch keine Ereignisse.",
        "by": "von",
        "actions": "Aktionen",
        "dispute": "Als bestritten markieren",
        "dispute_reason": "Was bestreitet der Käufer?",
        "resolve_dispute": "Streit beilegen",
        "resolve_note": "Wie wurde der Streit beigelegt?",
        "stop_dunning": "Mahnungen stoppen",
        "stop_reason": "Grund für den Mahnstopp",
        "resume_dunning": "Mahnungen fortsetzen",
        "text_required": "Bitte füllen Sie das Feld aus.",
        "payments_intro": (
            "Laden Sie Ihre Kontoauszüge hoch (camt.053 oder MT940). Eindeutige Zahlungen werden sofort verbucht, "
            "die übrigen warten hier auf Ihre Prüfung."
        ),
        "statement": "Kontoauszug",
        "statement_hint": "camt.053 (XML) oder MT940, bis 20 MB. Derselbe Auszug kann gefahrlos erneut hochgeladen "
        "werden.",
        "upload": "Hochladen",
        "upload_progress": "Fortschritt des Uploads",
        "imported": (
            "Auszug gelesen: {new} neue Zahlungseingänge ({already_known} bereits bekannt), {applied} verbucht, "
            "{review} zur Prüfung, {unmatched} ohne Zuordnung, {not_incoming} keine Eingänge."
        ),
        "review_queue": "Zur Prüfung",
        "empty_review": "Keine Zahlung wartet auf Ihre Prüfung.",
        "matched": "Zugeordnete Zahlungen",
        "empty_matched": "Noch keine Zahlung zugeordnet.",
        "booked_on": "Gebucht am",
        "payer": "Zahler",
        "purpose": "Verwendungszweck",
        "for_receivable": "Für Rechnung",
        "confidence": "Sicherheit",
        "why": "Begründung",
        "confirm": "Bestätigen",
        "match_statuses": {
            "auto_applied": "Automatisch verbucht",
            "review": "Zur Prüfung",
            "confirmed": "Bestätigt",
            "rejected": "Abgelehnt",
        },
        "audit_intro": "Wer wann was entschieden oder geändert hat.",
        "when": "Wann",
        "who": "Wer",
        "what": "Was",
        "target": "Betrifft",
        "details": "Einzelheiten",
        "empty_audit": "Noch keine Einträge.",
        "settings_invalid": "Nicht gespeichert: Bitte korrigieren Sie die markierten Felder.",
        "email_invalid": "Bitte geben Sie eine gültige E-Mail-Adresse an.",
        "save": "Speichern",
        "sections": {
            "policy": "Risikoprüfung",
            "claims": "Rechnungen und Zahlungsziel",
            "dunning": "Mahnlauf",
            "handover": "Übergabe an das Inkasso",
            "creditor": "Gläubigerdaten und E-Mail",
            "shopware": "Shopware-Administration",
        },
        "admin_address_intro": (
            "Läuft die Shopware-Administration unter einer anderen Adresse als der Shop, tragen Sie sie hier ein: "
            "Nur dann zeigt sie ClaimBridge an. Andere Seiten dürfen ClaimBridge nicht einbetten."
        ),
        "admin_address": "Adresse der Administration für {shop}",
        "admin_address_help": "Zum Beispiel https://admin.example.com; leer lassen, wenn sie unter der Shop-Adresse läuft.",
        "admin_address_none": "Kein Shopware-Shop verbunden.",
        "policy_intro": (
            "Jedes Signal, das zutrifft, addiert sein Gewicht zur Punktzahl (höchstens 100). Die Punktzahl erklärt "
            "die Entscheidung; sie ist keine Ausfallwahrscheinlichkeit."
        ),
        "weights_group": "Gewichte der Signale",
        "velocity_group": "Häufigkeitsgrenzen je Kennung",
        "bureau_group": "Auskunftei",
        "buyer_message_group": "Hinweis für Käufer",
        "bureau_account": "Zugang zur Auskunftei",
        "configured": "eingerichtet",
        "not_configured": "nicht eingerichtet (über die API einzurichten)",
        "dunning_intro": "Ein Ablauf für Verbraucher und einer für Unternehmen. Die Tage zählen ab Fälligkeit.",
        "stage": "Stufe",
        "offset_days": "Tage nach Fälligkeit",
        "payment_deadline_days": "Zahlungsfrist (Tage)",
        "handover_after_days": "Übergabe frühestens (Tage nach Fristende der letzten Mahnung)",
        "legal_limits": "Gesetzliche Grenzen",
        "legal_fee": "Mahngebühr höchstens {limit} je Mahnung: nur tatsächliche Kosten (Porto, Papier) sind "
        "ersatzfähig.",
        "legal_first": "Die erste Stufe setzt den Käufer in Verzug und ist deshalb gebührenfrei; sie kommt frühestens "
        "{days} Tage nach Fälligkeit.",
        "legal_business": "Unternehmen schulden zusätzlich die Verzugspauschale von 40 € (§ 288 Abs. 5 BGB); sie wird "
        "automatisch berechnet.",
        "handover_intro": "Wann eine Forderung vorgeschlagen wird und welche Vorschläge ohne Ihre Freigabe übergeben "
        "werden.",
        "minimum_amount": "Mindestbetrag",
        "minimum_amount_help": "Nur offene Beträge über diesem Wert werden zur Übergabe vorgeschlagen.",
        "auto_consumer": "Automatisch freigeben bis (Verbraucher)",
        "auto_business": "Automatisch freigeben bis (Unternehmen)",
        "auto_help": "Vorschläge bis zu diesem Betrag werden ohne Ihre Freigabe übergeben. Leer: immer fragen.",
        "agency_kind": "Inkassobüro",
        "agencies": {"builtin": "Eingebauter Fallkorb", "http": "Inkassobüro über seine API"},
        "agency_base_url": "Adresse der API des Inkassobüros",
        "agency_api_key": "API-Schlüssel des Inkassobüros",
        "agency_api_key_help": "Leer lassen, um den gespeicherten Schlüssel zu behalten.",
        "claims_intro": (
            "Diese Angaben bestimmen Fälligkeit und Verzug jeder Rechnung; die Shops zeigen Käufern dasselbe Zahlungsziel."
        ),
        "payment_terms_days": "Zahlungsziel in Tagen",
        "payment_terms_help": "Tage vom Rechnungs- bzw. Versanddatum bis zur Fälligkeit (1 bis 365).",
        "due_date_from": "Zahlungsziel läuft ab",
        "due_date_bases": {"invoice_date": "Rechnungsdatum", "shipment": "Versand (Rechnung bei Versand)"},
        "land": "Bundesland des Unternehmens",
        "land_none": "Nur bundesweite Feiertage",
        "land_help": "Seine Feiertage verschieben Fristenden nach § 193 BGB.",
        "lands": {
            "BB": "Brandenburg",
            "BE": "Berlin",
            "BW": "Baden-Württemberg",
            "BY": "Bayern",
            "HB": "Bremen",
            "HE": "Hessen",
            "HH": "Hamburg",
            "MV": "Mecklenburg-Vorpommern",
            "NI": "Niedersachsen",
            "NW": "Nordrhein-Westfalen",
            "RP": "Rheinland-Pfalz",
            "SH": "Schleswig-Holstein",
            "SL": "Saarland",
            "SN": "Sachsen",
            "ST": "Sachsen-Anhalt",
            "TH": "Thüringen",
        },
        "sells_to_businesses_only": "Wir verkaufen nur an Unternehmen",
        "sells_to_businesses_only_help": "Käufer gelten als Unternehmer, wenn eine Bestellung nichts anderes sagt (§ 14 BGB).",
        "invoices_carry_default_notice": "Unsere Rechnungen an Verbraucher enthalten den Hinweis nach § 286 Abs. 3 BGB",
        "invoices_carry_default_notice_help": (
            "Nur mit diesem Hinweis auf der Rechnung kommen Verbraucher 30 Tage nach Fälligkeit und Zugang "
            "ohne Mahnung in Verzug."
        ),
        "creditor_intro": "Diese Angaben stehen auf jeder Mahnung und gehen mit jedem Fall an das Inkassobüro.",
        "account_holder": "Kontoinhaber (Ihr Firmenname)",
        "iban": "IBAN",
        "iban_help": "Wird geprüft (Prüfziffer und Länge); die BIC ergänzen wir, wenn Sie sie leer lassen.",
        "bic": "BIC",
        "street": "Straße",
        "house_number": "Hausnummer",
        "postal_code": "Postleitzahl",
        "city": "Ort",
        "country": "Land (ISO-Code, z. B. DE)",
        "notice_language": "Sprache der Mahnungen",
        "notice_languages": {"auto": "Wie der Käufer bestellt hat", "de": "Deutsch", "en": "Englisch"},
        "reply_to": "Antworten gehen an",
        "reply_to_help": "Ihre E-Mail-Adresse für Rückfragen von Käufern.",
        "mail_from": "Mahnungen werden versendet von {address} mit Ihrem Firmennamen als Absender.",
        "mail_missing": "Auf diesem Server ist kein Mailversand eingerichtet; wenden Sie sich an Ihren Betreiber.",
        "test_notice": "Test-Mahnung senden",
        "test_notice_to": "Senden an",
        "test_notice_help": "Sie erhalten Ihre 1. Mahnung für eine erfundene Rechnung, genau so, wie Käufer sie "
        "bekommen.",
        "webhooks_title": "Webhooks von {shop}",
        "webhook_topic": "Ereignis",
        "webhook_status_in_shop": "Status im Shop",
        "webhook_last_delivery": "Letzte Zustellung",
        "webhook_ping": "Ping erhalten",
        "yes": "Ja",
        "no": "Nein",
        "unknown": "unbekannt",
        "webhooks_in_shop": "Webhooks im Shop ansehen",
        "problem_fix": "Abhilfe",
        "webhook_topics": {
            "order.created": "Bestellung angelegt",
            "order.updated": "Bestellung geändert",
            "order.deleted": "Bestellung gelöscht",
            "order.restored": "Bestellung wiederhergestellt",
        },
        "webhook_statuses": {"active": "Aktiv", "paused": "Pausiert", "disabled": "Deaktiviert"},
        "problems": {
            "webhook_ping_missing": {
                "message": "Der Shop hat ClaimBridge unter {url} nie erreicht (kein Ping für: {topics}). "
                "Bestellungen kommen trotzdem über den regelmäßigen Abgleich, nur später.",
                "fix": "Geben Sie dem Backend eine öffentliche Adresse (CLAIMBRIDGE_PUBLIC_URL), die der Shop über "
                "Port 443, 80 oder 8080 erreicht, oder erlauben Sie den Port im Shop mit dem Filter "
                "http_allowed_safe_ports; aktualisieren Sie dann die Verbindung, damit die Webhooks neu angelegt "
                "werden.",
            },
            "webhook_disabled": {
                "message": "WooCommerce hat Webhooks nach fehlgeschlagenen Zustellungen deaktiviert: {topics}.",
                "fix": "ClaimBridge aktiviert sie beim nächsten Abgleich wieder; prüfen Sie, ob das Backend "
                "erreichbar ist.",
            },
            "webhook_missing": {
                "message": "Im Shop fehlen ClaimBridge-Webhooks für: {topics}.",
                "fix": "ClaimBridge legt sie beim nächsten Abgleich an; der API-Schlüssel braucht Lese- und "
                "Schreibrechte.",
            },
            "plugin_missing": {
                "message": "Das ClaimBridge-Plugin antwortet in diesem Shop nicht: Mahnungen können nicht über den "
                "Shop versendet werden, und Hinweise im Shop-Admin warten, bis es antwortet.",
                "fix": "Installieren und aktivieren Sie das ClaimBridge-Plugin für WooCommerce im Shop.",
            },
            "causes": {
                "port": "WordPress liefert nicht an Port {port} (nur an 80, 443 und 8080, außer der Shop erlaubt "
                "ihn mit dem Filter http_allowed_safe_ports).",
                "private_host": "{private_host} ist eine private oder lokale Adresse, die WordPress nicht aufruft.",
            },
        },
        "policy_choices": {
            "/review_mode": {
                "offer": "Rechnung anbieten, Bestellung markieren",
                "hide": "Rechnung ausblenden",
            },
            "/fail_mode": {
                "hide_invoice": "Rechnung ausblenden",
                "allow_up_to": "Rechnung bis zum Betrag erlauben",
            },
            "/bureau/address_check_type": {
                "NO": "Keine Adressprüfung",
                "BA": "Adressprüfung einfach (BA)",
                "PE": "Adressprüfung mit Person (PE)",
                "BB": "Boniversum einfach (BB)",
                "PB": "Boniversum mit Person (PB)",
            },
        },
        "audit_actions": {
            "auth.failed": "Anmeldung am API fehlgeschlagen",
            "bank_statement.imported": "Kontoauszug eingelesen",
            "base_rate.added": "Basiszinssatz ergänzt",
            "buyer_override.cleared": "Freigabe oder Sperre eines Käufers aufgehoben",
            "buyer_override.set": "Käufer freigegeben oder gesperrt",
            "claim_settings.updated": "Forderungseinstellungen geändert",
            "client.created": "API-Zugang angelegt",
            "client.revoked": "API-Zugang widerrufen",
            "connection.created": "Shop verbunden",
            "connection.disabled": "Shop-Verbindung deaktiviert",
            "connection.updated": "Shop-Verbindung geändert",
            "connection.webhook_reenabled": "Webhook im Shop wieder aktiviert",
            "shop_outbox.discarded": "Geparkte Rückmeldung an den Shop verworfen",
            "shop_outbox.retried": "Geparkte Rückmeldung an den Shop erneut gesendet",
            "console_link.created": "Einmal-Link zur Konsole erstellt",
            "console_link.used": "Einmal-Link zur Konsole benutzt",
            "console_session.user_named": "Shopware-Benutzer der Sitzung erkannt",
            "shopware.admin_address_set": "Adresse der Shopware-Administration geändert",
            "dunning.buyer_resumed": "Mahnungen für einen Käufer fortgesetzt",
            "dunning.buyer_stopped": "Mahnstopp für einen Käufer",
            "dunning_schedule.replaced": "Mahnplan geändert",
            "dunning_settings.updated": "Mahneinstellungen geändert",
            "handover.direct_payment_reported": "Direktzahlung an das Inkassobüro gemeldet",
            "handover.document_fallback": "Forderungsaufstellung statt Rechnung übergeben",
            "handover_rules.updated": "Übergaberegeln geändert",
            "merchant.created": "Händlerkonto angelegt",
            "payment_match.applied": "Zahlung zugeordnet",
            "payment_match.rejected": "Zahlungszuordnung abgelehnt",
            "payment_matching.settings_updated": "Einstellungen der Zahlungszuordnung geändert",
            "policy.updated": "Risikoregeln geändert",
            "shopware.invoice_refused_after_order": "Nachträglicher Wechsel auf Rechnung nicht freigegeben",
            "shopware.re_registered": "Shopware-App neu registriert",
            "shopware.registered": "Shopware-App registriert",
            "shopware.retired_shop_released": "Daten eines deinstallierten Shops von neuer Registrierung getrennt",
            "shopware.shop_purged": "Daten eines Shops gelöscht",
            "woocommerce.connect_started": "WooCommerce-Verbindung begonnen",
        },
        "audit_families": {
            "handover": "Übergabe: {}",
            "receivable": "Forderung: {}",
            "shopware": "Shopware-App: {}",
        },
        "app_lifecycle": {
            "app.installed": "installiert",
            "app.updated": "aktualisiert",
            "app.activated": "aktiviert",
            "app.deactivated": "deaktiviert",
            "app.deleted": "deinstalliert",
        },
        "audit_targets": {
            "handover": "Übergabe",
            "receivable": "Forderung",
            "shop_connection": "Shop-Verbindung",
            "merchant": "Händler",
            "api_client": "API-Zugang",
            "console_link": "Konsolen-Link",
            "payment_match": "Zahlungszuordnung",
            "bank_statement": "Kontoauszug",
            "base_rate": "Basiszinssatz",
            "buyer": "Käufer",
            "buyer_override": "Käufer-Freigabe",
            "handover_rules": "Übergaberegeln",
            "policy": "Risikoregeln",
            "woocommerce_connect_session": "WooCommerce-Verbindung",
        },
        "reattach_code_title": "Daten an eine neue Installation übergeben",
        "reattach_code_intro": "Die App wurde in {shop} deinstalliert; ihre Daten sind aufbewahrt. Wird die App "
        "neu installiert (etwa unter einer anderen Adresse), übernimmt sie diese Daten erst, wenn dort dieser Code "
        "eingegeben wird. Er gilt sieben Tage und einmal.",
        "reattach_code_button": "Code erstellen",
        "reattach_code_shown": "Ihr Code (nur jetzt sichtbar):",
        "reattach_title": "Daten einer früheren Installation übernehmen",
        "reattach_intro": "Hatten Sie ClaimBridge schon in einem Shop installiert und dort deinstalliert? Erstellen "
        "Sie in dessen Konsole (oder bei Ihrem Betreiber) einen Code und geben Sie ihn hier ein: Forderungen, "
        "Einstellungen und Verlauf gehen dann auf diese Installation über.",
        "reattach_code_label": "Code aus der früheren Installation",
        "reattach_button": "Daten übernehmen",
        "reattach_invalid": "Dieser Code ist ungültig oder abgelaufen; erstellen Sie in der früheren Installation "
        "einen neuen.",
        "risk_title": "Risikoprüfung an der Kasse",
        "risk_intro": "Warum Kauf auf Rechnung für diese Bestellung angeboten wurde oder nicht.",
        "risk_decisions": {
            "accept": "Rechnung angeboten",
            "review": "Zur Prüfung",
            "decline": "Rechnung nicht angeboten",
        },
        "risk_decision": "Entscheidung",
        "risk_score": "Punktwert (0 bis 100)",
        "risk_checked_at": "Geprüft am",
        "risk_rule": "Ausschlaggebend",
        "risk_hidden_methods": "Ausgeblendete Zahlarten",
        "risk_reason": "Beobachtung",
        "risk_advice": "Was der Käufer tun kann",
        "risk_weight": "Gewicht",
        "risk_no_reasons": "Keine Auffälligkeiten.",
        "risk_missing": "Für diese Bestellung ist keine Risikoprüfung gespeichert (z. B. weil sie importiert wurde).",
        "events": {
            "created": "Rechnung übernommen",
            "synced": "Aus dem Shop abgeglichen",
            "state_changed": "Stand geändert",
            "payment": "Zahlung",
            "disputed": "Bestritten",
            "dispute_resolved": "Streit beigelegt",
            "dunning_stopped": "Mahnstopp",
            "dunning_resumed": "Mahnungen fortgesetzt",
            "credit": "Gutschrift oder Erstattung",
            "dunning_notice_queued": "Mahnung vorbereitet",
            "dunning_notice_recorded": "Mahnung vermerkt (Ihr System)",
            "dunning_notice_sent": "Mahnung versendet",
            "dunning_notice_cancelled": "Mahnung zurückgehalten",
            "handover_proposed": "Zur Übergabe vorgeschlagen",
            "handover_approved": "Übergabe freigegeben",
            "handover_rejected": "Übergabe abgelehnt",
            "handover_withdrawn": "Übergabe zurückgezogen",
            "handover_rejected_by_agency": "Vom Inkassobüro abgelehnt",
            "handover_document_fallback": "Forderungsaufstellung statt Rechnung übergeben",
            "handed_over": "An das Inkassobüro übergeben",
            "direct_payment_after_handover": "Direktzahlung nach der Übergabe",
            "buyer_erased": "Kontaktdaten des Käufers gelöscht (DSGVO)",
        },
    },
    "en": {
        "product": "ClaimBridge",
        "console": "Receivables console",
        "skip": "Skip to content",
        "signed_in_as": "Signed in as",
        "nav_label": "Sections",
        "tabs": {
            "overview": "Overview",
            "handovers": "Handovers",
            "receivables": "Receivables",
            "payments": "Payments",
            "settings": "Settings",
            "audit": "Audit",
        },
        "overview_intro": "What needs your attention now.",
        "nothing_to_do": "All done: nothing is waiting for you.",
        "attention": {
            "proposals": "Handover proposals waiting for your decision: {count}",
            "payment_reviews": "Payments waiting for your review: {count}",
            "failed_shop_updates": "Parked updates to your shop: {count}",
            "missing_base_rate": "The base rate (§ 247 BGB) of the current half-year is missing; notices "
            "with interest are held back",
            "missing_payment_details": "Your bank account for notices is missing",
            "missing_creditor_address": "Your creditor address for collection is missing",
            "no_connection": "No shop is connected",
            "connection_problems": "Shop connections that do not fully work: {count}",
        },
        "open_link": "Open",
        "attempts": "Attempts",
        "parked_intro": (
            "These updates to your shop failed too often, or their shop connection is not active. They are "
            "parked: nothing sends them until you retry or discard them."
        ),
        "retry_parked": "Retry",
        "discard_parked": "Discard",
        "connections": "Shop connections",
        "connection_status": {"active": "Active", "pending": "Pending", "disabled": "Disabled"},
        "last_synced": "Last synchronised",
        "never": "never",
        "platform": "Platform",
        "shop": "Shop",
        "status": "Status",
        "handovers_intro": (
            "Unpaid invoices after the final notice: approve handing them over to the collection agency or "
            "reject them. Nothing is handed over without your approval."
        ),
        "filter": "Filter",
        "search": "Search",
        "search_hint": "Order number or buyer",
        "all_statuses": "All statuses",
        "order": "Order",
        "buyer": "Buyer",
        "proposed_on": "Proposed on",
        "days_overdue": "Days overdue",
        "principal": "Principal",
        "interest": "Interest",
        "fees": "Fees",
        "total": "Total",
        "select": "Select",
        "select_all": "Select all",
        "approve": "Approve",
        "approve_selected": "Approve selected",
        "reject": "Reject",
        "reject_selected": "Reject selected",
        "reject_reason": "Reason for rejecting",
        "reject_reason_hint": "Required when rejecting, e.g. “customer agreed to pay in instalments”.",
        "withdraw": "Withdraw",
        "withdraw_reason": "Reason for withdrawing",
        "empty_handovers": "No handovers found.",
        "selected_orders": "Selected orders",
        "show_all": "Show all",
        "page_of": "Page {page} of {pages}",
        "previous": "Previous",
        "next": "Next",
        "results": "{total} entries",
        "notice": {
            "approved": "Approved: {count}.",
            "rejected": "Rejected: {count}.",
            "withdrawn": "The handover was withdrawn.",
            "disputed": "The receivable is marked as disputed; dunning is paused.",
            "dispute_resolved": "The dispute is resolved.",
            "dunning_stopped": "Dunning is stopped.",
            "dunning_resumed": "Dunning is running again.",
            "confirmed": "Payment confirmed and booked.",
            "match_rejected": "Match rejected.",
            "saved": "Saved.",
            "test_notice_sent": "The test notice was sent to {count}.",
            "reattached": "The earlier installation's data is taken over.",
            "parked_retried": "The parked update is queued to be sent again.",
            "parked_discarded": "The parked update is discarded.",
            "nothing_selected": "Select at least one proposal.",
            "reason_required": "Give a reason for rejecting.",
        },
        "statuses": {
            "proposed": "Proposed",
            "approved": "Approved",
            "rejected": "Rejected",
            "withdrawn": "Withdrawn",
            "submitting": "Handing over",
            "submitted": "Handed over",
            "rejected_by_agency": "Rejected by the agency",
            "closed": "Closed",
        },
        "handover": "Handover",
        "decision": "Your decision",
        "back_to_list": "Back to the list",
        "order_and_buyer": "Order and buyer",
        "email": "E-mail",
        "address": "Address",
        "debtor_kind": "Debtor",
        "debtor_kinds": {"consumer": "Consumer", "business": "Business"},
        "invoice_date": "Invoice date",
        "due_date": "Due date",
        "notices_sent": "Notices sent",
        "no_notices": "No notice sent yet.",
        "notice_kinds": {
            "reminder": "Payment reminder",
            "dunning": "1st dunning notice",
            "final_notice": "Final notice announcing collection",
        },
        "sent_on": "Sent on",
        "notice_statuses": {
            "queued": "Planned",
            "sending": "Sending",
            "sent": "Sent",
            "failed": "Failed",
            "cancelled": "Held back",
        },
        "channel": "Channel",
        "channels": {"email": "E-mail", "shop": "Shop", "letter": "Letter", "none": "Your own system"},
        "deadline": "Pay by",
        "fee": "Fee",
        "claim_today": "Claim today",
        "claim_at_proposal": "Frozen at proposal",
        "amount": "Amount",
        "legal_basis": "Legal basis",
        "basis": {
            "principal": "Purchase price under the contract (§ 433(2) BGB)",
            "dunning_fees": "Dunning costs as damages for default, actual costs only (§§ 280, 286 BGB)",
            "flat_fee": "Flat default fee for businesses (§ 288(5) BGB)",
            "interest": {
                "consumer": "Default interest: base rate + 5 percentage points (§ 288(1) BGB)",
                "business": "Default interest: base rate + 9 percentage points (§ 288(2) BGB)",
            },
            "payments": "Already paid (allocated under § 367 BGB)",
            "credits": "Credit notes and refunds",
        },
        "payments_received": "Payments",
        "credits": "Credits",
        "outstanding": "Outstanding",
        "default_since": "In default since",
        "limitation": "Time-barred on",
        "readiness": "Conditions for handover",
        "ready": "Every condition is met.",
        "case": "Collection case",
        "agency": "Agency",
        "case_id": "Case id",
        "legal_stage": "Legal stage",
        "processing_state": "Processing",
        "payment_state": "Payment state",
        "collected": "Collected by the agency",
        "paid_direct": "Paid to you directly",
        "balance": "Balance",
        "decided_by": "Decided by",
        "decision_note": "Reason",
        "history": "History",
        "error_title": "That did not work",
        "link_used": "This link was already used or has expired. Open the console again from your shop.",
        "session_invalid": "Your session expired or is invalid. Open the console again from your shop.",
        "not_found": "This entry does not exist.",
        "money_note": "Amounts in {currency}",
        "receivables_intro": "Your open and settled invoices, the most overdue first.",
        "aging": "Overdue",
        "aging_buckets": {
            "0-30": "0 to 30 days",
            "31-60": "31 to 60 days",
            "61-90": "61 to 90 days",
            "90+": "over 90 days",
        },
        "all_ages": "Any age",
        "overdue_only": "Overdue only",
        "number": "Invoice number",
        "state": "State",
        "states": {
            "open": "Open",
            "partially_paid": "Partially paid",
            "paid": "Paid",
            "cancelled": "Cancelled",
            "refunded": "Refunded",
            "disputed": "Disputed",
            "in_collection": "In collection",
        },
        "all_states": "Any state",
        "dunning_level": "Dunning level",
        "dunning_stopped": "Dunning stopped",
        "empty_receivables": "No receivables found.",
        "receivable": "Receivable",
        "timeline": "Timeline",
        "no_events": "Nothing has happened yet.",
        "by": "by",
        "actions": "Actions",
        "dispute": "Mark as disputed",
        "dispute_reason": "What does the buyer dispute?",
        "resolve_dispute": "Resolve the dispute",
        "resolve_note": "How was the dispute resolved?",
        "stop_dunning": "Stop dunning",
        "stop_reason": "Reason for stopping",
        "resume_dunning": "Resume dunning",
        "text_required": "Fill in this field.",
        "payments_intro": (
            "Upload your bank statements (camt.053 or MT940). Clear payments are booked at once; the rest wait "
            "here for your review."
        ),
        "statement": "Bank statement",
        "statement_hint": "camt.053 (XML) or MT940, up to 20 MB. Uploading the same statement again is safe.",
        "upload": "Upload",
        "upload_progress": "Upload progress",
        "imported": (
            "Statement read: {new} new incoming payments ({already_known} already known), {applied} booked, "
            "{review} for review, {unmatched} unmatched, {not_incoming} not incoming."
        ),
        "review_queue": "For review",
        "empty_review": "No payment waits for your review.",
        "matched": "Matched payments",
        "empty_matched": "No payment matched yet.",
        "booked_on": "Booked on",
        "payer": "Payer",
        "purpose": "Remittance",
        "for_receivable": "For invoice",
        "confidence": "Confidence",
        "why": "Why",
        "confirm": "Confirm",
        "match_statuses": {
            "auto_applied": "Booked automatically",
            "review": "For review",
            "confirmed": "Confirmed",
            "rejected": "Rejected",
        },
        "audit_intro": "Who decided or changed what, and when.",
        "when": "When",
        "who": "Who",
        "what": "What",
        "target": "Concerns",
        "details": "Details",
        "empty_audit": "Nothing recorded yet.",
        "settings_invalid": "Not saved: correct the marked fields.",
        "email_invalid": "Give a valid e-mail address.",
        "save": "Save",
        "sections": {
            "policy": "Risk check",
            "claims": "Invoices and payment term",
            "dunning": "Dunning",
            "handover": "Handover to collection",
            "creditor": "Creditor data and e-mail",
            "shopware": "Shopware Administration",
        },
        "admin_address_intro": (
            "If the Shopware Administration runs at another address than the shop, enter it here: only then does "
            "it show ClaimBridge. Other pages may not embed ClaimBridge."
        ),
        "admin_address": "Administration address for {shop}",
        "admin_address_help": "For example https://admin.example.com; leave empty when it runs at the shop's address.",
        "admin_address_none": "No Shopware shop is connected.",
        "policy_intro": (
            "Every signal that fires adds its weight to the score (at most 100). The score explains the decision; "
            "it is not a probability of default."
        ),
        "weights_group": "Signal weights",
        "velocity_group": "Frequency limits per identity",
        "bureau_group": "Credit bureau",
        "buyer_message_group": "Message to buyers",
        "bureau_account": "Credit bureau account",
        "configured": "configured",
        "not_configured": "not configured (set up through the API)",
        "dunning_intro": "One schedule for consumers, one for businesses. Days count from the due date.",
        "stage": "Stage",
        "offset_days": "Days after the due date",
        "payment_deadline_days": "Days to pay",
        "handover_after_days": "Handover at the earliest (days after the final notice's deadline)",
        "legal_limits": "Legal limits",
        "legal_fee": "A dunning fee of at most {limit} per notice: only actual costs (postage, paper) are "
        "recoverable.",
        "legal_first": "The first stage puts the buyer in default and so carries no fee; it comes at least {days} "
        "days after the due date.",
        "legal_business": "Businesses also owe the €40 flat default fee (§ 288(5) BGB); it is added automatically.",
        "handover_intro": "When a receivable is proposed, and which proposals go over without your approval.",
        "minimum_amount": "Minimum amount",
        "minimum_amount_help": "Only balances above this amount are proposed for handover.",
        "auto_consumer": "Approve automatically up to (consumers)",
        "auto_business": "Approve automatically up to (businesses)",
        "auto_help": "Proposals up to this amount are handed over without asking you. Empty: always ask.",
        "agency_kind": "Collection agency",
        "agencies": {"builtin": "Built-in case inbox", "http": "Agency through its API"},
        "agency_base_url": "Address of the agency's API",
        "agency_api_key": "The agency's API key",
        "agency_api_key_help": "Leave empty to keep the stored key.",
        "claims_intro": (
            "These settings decide when each invoice falls due and when default begins; the shops show buyers the "
            "same payment term."
        ),
        "payment_terms_days": "Payment term in days",
        "payment_terms_help": "Days from the invoice or shipping date to the due date (1 to 365).",
        "due_date_from": "Payment term runs from",
        "due_date_bases": {"invoice_date": "Invoice date", "shipment": "Shipment (invoiced on shipment)"},
        "land": "Your company's Land",
        "land_none": "Nationwide holidays only",
        "land_help": "Its public holidays move the end of periods (§ 193 BGB).",
        "lands": {
            "BB": "Brandenburg",
            "BE": "Berlin",
            "BW": "Baden-Württemberg",
            "BY": "Bavaria",
            "HB": "Bremen",
            "HE": "Hesse",
            "HH": "Hamburg",
            "MV": "Mecklenburg-Western Pomerania",
            "NI": "Lower Saxony",
            "NW": "North Rhine-Westphalia",
            "RP": "Rhineland-Palatinate",
            "SH": "Schleswig-Holstein",
            "SL": "Saarland",
            "SN": "Saxony",
            "ST": "Saxony-Anhalt",
            "TH": "Thuringia",
        },
        "sells_to_businesses_only": "We sell to businesses only",
        "sells_to_businesses_only_help": "Buyers count as businesses unless an order says otherwise (§ 14 BGB).",
        "invoices_carry_default_notice": "Our invoices to consumers carry the notice of § 286(3) BGB",
        "invoices_carry_default_notice_help": (
            "Only with this notice on the invoice are consumers in default 30 days after due date and receipt "
            "without a reminder."
        ),
        "creditor_intro": "These details are on every notice and go to the agency with every case.",
        "account_holder": "Account holder (your company name)",
        "iban": "IBAN",
        "iban_help": "Checked (check digits and length); we add the BIC when you leave it empty.",
        "bic": "BIC",
        "street": "Street",
        "house_number": "House number",
        "postal_code": "Postal code",
        "city": "City",
        "country": "Country (ISO code, e.g. DE)",
        "notice_language": "Language of notices",
        "notice_languages": {"auto": "As the buyer ordered", "de": "German", "en": "English"},
        "reply_to": "Replies go to",
        "reply_to_help": "Your e-mail address for buyers' questions.",
        "mail_from": "Notices are sent from {address} with your company name as the sender.",
        "mail_missing": "This server has no e-mail configured; ask your operator.",
        "test_notice": "Send me a test notice",
        "test_notice_to": "Send to",
        "test_notice_help": "You get your 1st dunning notice for a made-up invoice, exactly as buyers get it.",
        "webhooks_title": "Webhooks of {shop}",
        "webhook_topic": "Event",
        "webhook_status_in_shop": "Status in the shop",
        "webhook_last_delivery": "Last delivery",
        "webhook_ping": "Ping received",
        "yes": "Yes",
        "no": "No",
        "unknown": "unknown",
        "webhooks_in_shop": "See the webhooks in the shop",
        "problem_fix": "Fix",
        "webhook_topics": {
            "order.created": "Order created",
            "order.updated": "Order updated",
            "order.deleted": "Order deleted",
            "order.restored": "Order restored",
        },
        "webhook_statuses": {"active": "Active", "paused": "Paused", "disabled": "Disabled"},
        "problems": {
            "webhook_ping_missing": {
                "message": "The shop never reached ClaimBridge at {url} (no ping for: {topics}). Orders still "
                "arrive through the regular poll, only later.",
                "fix": "Give the backend a public URL (CLAIMBRIDGE_PUBLIC_URL) the shop can reach on port 443, 80 "
                "or 8080, or allow its port in the shop with the http_allowed_safe_ports filter; then update the "
                "connection so the webhooks are created anew.",
            },
            "webhook_disabled": {
                "message": "WooCommerce disabled webhooks after failed deliveries: {topics}.",
                "fix": "ClaimBridge re-enables them with the next reconciliation; check that the backend is "
                "reachable.",
            },
            "webhook_missing": {
                "message": "The shop has no ClaimBridge webhook for: {topics}.",
                "fix": "ClaimBridge creates them with the next reconciliation; the API key needs Read/Write "
                "permission.",
            },
            "plugin_missing": {
                "message": "The ClaimBridge plugin does not answer in this shop: dunning notices cannot go out "
                "through the shop and admin notices wait until it does.",
                "fix": "Install and activate the ClaimBridge plugin for WooCommerce in the shop.",
            },
            "causes": {
                "port": "WordPress does not deliver to port {port} (only 80, 443 and 8080, unless the shop allows "
                "it with the http_allowed_safe_ports filter).",
                "private_host": "{private_host} is a private or loopback address WordPress refuses to call.",
            },
        },
        "policy_choices": {
            "/review_mode": {"offer": "Offer invoice, flag the order", "hide": "Hide invoice"},
            "/fail_mode": {"hide_invoice": "Hide invoice", "allow_up_to": "Allow invoice up to the amount"},
            "/bureau/address_check_type": {
                "NO": "No address check",
                "BA": "Basic address check (BA)",
                "PE": "Address check with person (PE)",
                "BB": "Boniversum basic (BB)",
                "PB": "Boniversum with person (PB)",
            },
        },
        "audit_actions": {
            "auth.failed": "API sign-in failed",
            "bank_statement.imported": "Bank statement imported",
            "base_rate.added": "Base rate added",
            "buyer_override.cleared": "Buyer's allowance or block lifted",
            "buyer_override.set": "Buyer allowed or blocked",
            "claim_settings.updated": "Claim settings changed",
            "client.created": "API client created",
            "client.revoked": "API client revoked",
            "connection.created": "Shop connected",
            "connection.disabled": "Shop connection disabled",
            "connection.updated": "Shop connection changed",
            "connection.webhook_reenabled": "Webhook re-enabled in the shop",
            "shop_outbox.discarded": "Parked shop update discarded",
            "shop_outbox.retried": "Parked shop update sent again",
            "console_link.created": "One-time console link created",
            "console_link.used": "One-time console link used",
            "console_session.user_named": "Shopware user of the session identified",
            "shopware.admin_address_set": "Shopware Administration address changed",
            "dunning.buyer_resumed": "Dunning resumed for a buyer",
            "dunning.buyer_stopped": "Dunning stopped for a buyer",
            "dunning_schedule.replaced": "Dunning schedule changed",
            "dunning_settings.updated": "Dunning settings changed",
            "handover.direct_payment_reported": "Direct payment reported to the agency",
            "handover.document_fallback": "Claim statement sent instead of the invoice",
            "handover_rules.updated": "Handover rules changed",
            "merchant.created": "Merchant account created",
            "payment_match.applied": "Payment applied",
            "payment_match.rejected": "Payment match rejected",
            "payment_matching.settings_updated": "Payment matching settings changed",
            "policy.updated": "Risk policy changed",
            "shopware.invoice_refused_after_order": "Later switch to invoice not allowed",
            "shopware.re_registered": "Shopware app registered again",
            "shopware.registered": "Shopware app registered",
            "shopware.retired_shop_released": "Data of an uninstalled shop kept apart from a new registration",
            "shopware.shop_purged": "Data of a shop deleted",
            "woocommerce.connect_started": "WooCommerce connection started",
        },
        "audit_families": {
            "handover": "Handover: {}",
            "receivable": "Receivable: {}",
            "shopware": "Shopware app: {}",
        },
        "app_lifecycle": {
            "app.installed": "installed",
            "app.updated": "updated",
            "app.activated": "activated",
            "app.deactivated": "deactivated",
            "app.deleted": "uninstalled",
        },
        "audit_targets": {
            "handover": "Handover",
            "receivable": "Receivable",
            "shop_connection": "Shop connection",
            "merchant": "Merchant",
            "api_client": "API client",
            "console_link": "Console link",
            "payment_match": "Payment match",
            "bank_statement": "Bank statement",
            "base_rate": "Base rate",
            "buyer": "Buyer",
            "buyer_override": "Buyer override",
            "handover_rules": "Handover rules",
            "policy": "Risk policy",
            "woocommerce_connect_session": "WooCommerce connection",
        },
        "reattach_code_title": "Hand the data to a new installation",
        "reattach_code_intro": "The app was uninstalled in {shop}; its data is kept. A new installation of the app "
        "(for example at another address) takes this data over only when this code is entered there. It works "
        "once, for seven days.",
        "reattach_code_button": "Create a code",
        "reattach_code_shown": "Your code (shown only now):",
        "reattach_title": "Take over the data of an earlier installation",
        "reattach_intro": "Did you install ClaimBridge in a shop before and uninstall it there? Create a code in "
        "that installation's console (or ask your operator) and enter it here: receivables, settings and history "
        "then move to this installation.",
        "reattach_code_label": "Code from the earlier installation",
        "reattach_button": "Take over the data",
        "reattach_invalid": "This code is not valid or has expired; create a new one in the earlier installation.",
        "risk_title": "Risk check at checkout",
        "risk_intro": "Why invoice payment was or was not offered for this order.",
        "risk_decisions": {
            "accept": "Invoice offered",
            "review": "For review",
            "decline": "Invoice not offered",
        },
        "risk_decision": "Decision",
        "risk_score": "Score (0 to 100)",
        "risk_checked_at": "Checked on",
        "risk_rule": "Decided by",
        "risk_hidden_methods": "Payment methods hidden",
        "risk_reason": "Observation",
        "risk_advice": "What the buyer can do",
        "risk_weight": "Weight",
        "risk_no_reasons": "Nothing unusual.",
        "risk_missing": "No risk check is stored for this order (for example because it was imported).",
        "events": {
            "created": "Invoice taken over",
            "synced": "Synchronised from the shop",
            "state_changed": "State changed",
            "payment": "Payment",
            "disputed": "Disputed",
            "dispute_resolved": "Dispute resolved",
            "dunning_stopped": "Dunning stopped",
            "dunning_resumed": "Dunning resumed",
            "credit": "Credit note or refund",
            "dunning_notice_queued": "Notice prepared",
            "dunning_notice_recorded": "Notice recorded (your system)",
            "dunning_notice_sent": "Notice sent",
            "dunning_notice_cancelled": "Notice held back",
            "handover_proposed": "Proposed for handover",
            "handover_approved": "Handover approved",
            "handover_rejected": "Handover rejected",
            "handover_withdrawn": "Handover withdrawn",
            "handover_rejected_by_agency": "Rejected by the agency",
            "handover_document_fallback": "Claim statement sent instead of the invoice",
            "handed_over": "Handed over to the agency",
            "direct_payment_after_handover": "Paid directly after handover",
            "buyer_erased": "Buyer's contact data erased (GDPR)",
        },
    },
}


def format_money(amount: Decimal | None, currency: str, language: str) -> str:
    """Format an amount as the shop admins do: ``1.234,50 €`` in German, ``€1,234.50`` in English."""
    if amount is None:
        return "—"
    grouped = f"{amount.quantize(Decimal('0.01')):,.2f}"
    symbol = {"EUR": "€", "USD": "$", "GBP": "£", "CHF": "CHF"}.get(currency, currency)
    if language == "de":
        return grouped.replace(",", "\u2009").replace(".", ",").replace("\u2009", ".") + f"\u00a0{symbol}"
    if grouped.startswith("-"):
        return f"-{symbol}{grouped[1:]}"
    return f"{symbol}{grouped}"


def format_percent(value: Decimal, language: str) -> str:
    """Format a percentage: ``1,27 %`` in German, ``1.27%`` in English."""
    text = f"{value.normalize():f}"
    return text.replace(".", ",") + "\u00a0%" if language == "de" else f"{text}%"


def format_details(data: dict[str, Any] | None) -> str:
    """Write an event's data as ``key: value`` pairs for a person to read (nested values as they are)."""
    return "; ".join(
        f"{key.replace('_', ' ')}: {value}" for key, value in (data or {}).items() if value not in (None, "")
    )


def format_date(value: date | datetime | None, language: str) -> str:
    """Format a day (a moment as its Berlin day and time): ``06.12.2026`` in German, ``6 Dec 2026`` in English."""
    if value is None:
        return "—"
    suffix = ""
    if isinstance(value, datetime):
        local = value.astimezone(BERLIN)
        suffix = f", {local:%H:%M}"
        value = local.date()
    if language == "de":
        return f"{value:%d.%m.%Y}{suffix}"
    return f"{value.day} {_MONTHS_EN[value.month - 1]} {value.year}{suffix}"


def audit_label(action: str, lang: str) -> str:
    """Name an audit action for a person: its own text, or its family's (handover, receivable, Shopware app)."""
    texts = TEXTS[lang]
    if action in texts["audit_actions"]:
        return texts["audit_actions"][action]
    family, _, rest = action.partition(".")
    named = {
        "handover": texts["statuses"],
        "receivable": texts["events"],
        "shopware": texts["app_lifecycle"],
    }.get(family, {})
    return texts["audit_families"][family].format(named[rest]) if rest in named else action


# The areas' services explain a refused value in English (the JSON API's language); German pages say it in
# German. Each pattern matches one message of merchants/policy.py, dunning/schedule.py, dunning/services.py
# (schwifty), backend/schemas.py or marshmallow's defaults; a message no pattern knows is shown as it is.
_GERMAN_PROBLEMS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.S), german)
    for pattern, german in (
        (r"must not be greater than decline_at", "darf nicht über der Schwelle für „Ablehnen“ liegen"),
        (r"must be an object", "muss ein Objekt sein"),
        (
            r"give the address the Administration opens at, such as (\S+)",
            "Geben Sie die Adresse an, unter der die Administration öffnet, etwa {}",
        ),
        (r"unknown field|Unknown field\.", "unbekanntes Feld"),
        (r"must be an integer|Not a valid integer\.", "muss eine ganze Zahl sein"),
        (r"must be between (\S+) and (\S+)", "muss zwischen {0} und {1} liegen"),
        (r'must be a decimal string such as "500\.00"', "muss ein Betrag wie 500,00 sein"),
        (r"must be a non-negative amount", "darf nicht negativ sein"),
        (r"must have at most two decimal places", "darf höchstens zwei Nachkommastellen haben"),
        (r"must be one of (.+)|Must be one of: (.+)\.", "muss einer dieser Werte sein: {0}"),
        (r"must be an ISO 4217 code such as EUR", "muss ein Währungscode wie EUR sein"),
        (r"must be a list of payment method ids", "muss eine Liste von Zahlungsarten sein"),
        (r"must be a non-empty string", "darf nicht leer sein"),
        (r"unknown reason code", "unbekanntes Signal"),
        (r"must be true or false", "muss ja oder nein sein"),
        (r"must be a whole number of days, not (.+)", "muss eine ganze Zahl von Tagen sein, nicht {0}"),
        (r"must be at least (\S+), not (\S+)", "muss mindestens {0} sein, nicht {1}"),
        (r"must be a decimal string such as '2\.50', not (.+)", "muss ein Betrag wie 2,50 sein, nicht {0}"),
        (r"must be at most (\S+), not (\S+)", "darf höchstens {0} sein, nicht {1}"),
        (r"(.+) is not an amount in cents", "{0} ist kein Betrag in Cent"),
        (
            r"must be between 0\.00 and (\S+): more than that is not the cost of one letter",
            "muss zwischen 0,00 und {0} liegen: mehr kostet ein Brief nicht",
        ),
        (
            r"must end with a final_notice announcing the handover",
            "muss mit der Mahnung enden, die das Inkasso ankündigt",
        ),
        (
            r"the first notice must be at least (\d+) days after the due date",
            "die erste Mahnung darf frühestens {0} Tage nach der Fälligkeit kommen",
        ),
        (
            r"the first notice puts the debtor in default: no fee",
            "die erste Mahnung setzt den Käufer erst in Verzug: keine Gebühr",
        ),
        (
            r"must be at most (\S+) for a notice by letter to a \w+: .*",
            "darf höchstens {0} betragen: ein Brief darf seine tatsächlichen Kosten (Papier, Druck, Porto) "
            "kosten, höchstens wie von Ihnen angegeben; ohne Nachweis erkennen Gerichte etwa 1,00 € an. "
            "Personal- und Gemeinkosten sind nicht erstattungsfähig, und die Mahnung, die den Verzug erst "
            "begründet, bleibt gebührenfrei",
        ),
        (
            r"must be at most (\S+) for a notice by email to a \w+: .*",
            "darf höchstens {0} betragen: eine E-Mail kostet den Käufer nichts, also darf keine Gebühr "
            "berechnet werden",
        ),
        (
            r"must be at most (\S+) for a notice by (?:none|shop) to a \w+: .*",
            "darf höchstens {0} betragen: diese Mahnung versendet Ihr eigenes System oder der Shop, "
            "ClaimBridge berechnet dafür keine Gebühr",
        ),
        (
            r"order is reminder, dunning, final_notice, each at most once",
            "Reihenfolge: Zahlungserinnerung, Mahnung, letzte Mahnung, jede höchstens einmal",
        ),
        (r"must be later than the previous stage", "muss später als die vorige Stufe kommen"),
        (
            r"must end before the next stage, i\.e\. be less than (\d+) days",
            "muss vor der nächsten Stufe enden, also kürzer als {0} Tage sein",
        ),
        (r"Not a valid number\.", "keine gültige Zahl"),
        (r"Not an amount in cents of at most (\S+)\.", "kein Betrag in Cent bis höchstens {0}"),
        (r"Missing data for required field\.", "Pflichtfeld"),
        (r"Field may not be null\.", "darf nicht leer sein"),
        (
            r"Must be greater than or equal to (\S+) and less than or equal to (\S+)\.",
            "muss zwischen {0} und {1} liegen",
        ),
        (r"Must be greater than or equal to (\S+)\.", "muss mindestens {0} sein"),
        (r"Must be less than or equal to (\S+)\.", "darf höchstens {0} sein"),
        (r"Length must be between (\d+) and (\d+)\.", "muss {0} bis {1} Zeichen lang sein"),
        (r"Shorter than minimum length (\d+)\.", "muss mindestens {0} Zeichen lang sein"),
        (r"Longer than maximum length (\d+)\.", "darf höchstens {0} Zeichen lang sein"),
        (r"String does not match expected pattern\.", "hat nicht das erwartete Format"),
        (r"Not a valid email address\.", "keine gültige E-Mail-Adresse"),
        (r"Use an ISO 3166-1 alpha-2 code\.", "Ländercode mit zwei Buchstaben, z. B. DE"),
        (r"Invalid checksum digits.*", "die Prüfziffer der IBAN stimmt nicht"),
        (r"Invalid IBAN length.*|Invalid BBAN length.*", "die IBAN hat nicht die richtige Länge"),
        (r"Invalid characters in IBAN.*", "die IBAN enthält ungültige Zeichen"),
        (r"Unknown country code.*", "unbekannter Ländercode"),
        (r"Invalid (?:BBAN structure|bank code|branch code|account code).*", "diese IBAN gibt es so nicht"),
        (r"required for this IBAN", "für diese IBAN nötig"),
        # Why a receivable may not be dunned or handed over (dunning/services.py dunning_blocker,
        # handovers/services.py handover_blockers) and why no claim can be computed.
        (r"receivable is disputed", "die Forderung ist bestritten"),
        (r"receivable is paid", "die Forderung ist bezahlt"),
        (r"receivable is cancelled", "die Bestellung ist storniert"),
        (r"receivable is refunded", "die Forderung ist erstattet"),
        (r"receivable is in_collection", "die Forderung ist beim Inkassobüro"),
        (r"receivable is (\w+)", "die Forderung ist nicht offen ({0})"),
        (r"dunning is stopped for this order", "für diese Bestellung gilt ein Mahnstopp"),
        (r"dunning is stopped for this buyer", "für diesen Käufer gilt ein Mahnstopp"),
        (r"only (\w+) claims are dunned", "nur Forderungen in {0} werden gemahnt"),
        (r"nothing is owed", "es ist nichts mehr offen"),
        (
            r"the claim is time-barred since (\S+?)(?: \(§§195, 199 BGB\))?",
            "die Forderung ist seit dem {0} verjährt",
        ),
        (
            r"the billing address is incomplete \(street, postal code and city are needed\)",
            "die Rechnungsanschrift ist unvollständig (Straße, Postleitzahl und Ort werden gebraucht)",
        ),
        (
            r"the merchant's creditor address is not set in the handover rules",
            "Ihre Gläubigeranschrift fehlt in den Übergaberegeln",
        ),
        (r"a handover exists already \(status (\w+)\)", "es gibt schon eine Übergabe ({0})"),
        (
            r"the balance (\S+) is not above the minimum (\S+)",
            "der offene Betrag {0} liegt nicht über dem Mindestbetrag {1}",
        ),
        (r"the final notice has not been sent", "die letzte Mahnung ist noch nicht versendet"),
        (
            r"the final notice's deadline has not passed; ready on (\S+)",
            "die Frist der letzten Mahnung läuft noch; übergabebereit am {0}",
        ),
        (
            r"the final notice was sent before the due date",
            "die letzte Mahnung ging vor der Fälligkeit hinaus",
        ),
        (r"default \(Verzug\) is not established", "Verzug ist nicht eingetreten"),
        (
            r"no base rate known for (\S+): add the rate valid from (\S+)",
            "für den {0} ist kein Basiszinssatz bekannt: der Satz ab {1} fehlt noch",
        ),
        (
            r"only (\w+) claims can be computed, not (\w+)",
            "nur Forderungen in {0} sind berechenbar, nicht in {1}",
        ),
        (r"the receivable has no positive invoice total", "die Rechnung hat keinen positiven Betrag"),
        # Decisions that came too late (another user, or the worker, moved the record first).
        (
            r"a handover cannot go from (\w+) to (\w+)",
            "diese Übergabe steht schon auf „{0}“ und kann nicht mehr auf „{1}“ gesetzt werden",
        ),
        (
            r"a receivable cannot go from (\w+) to (\w+)",
            "diese Forderung steht auf „{0}“ und kann nicht auf „{1}“ gesetzt werden",
        ),
        (
            r"payment match \d+ is (\w+), not in review",
            "diese Zuordnung ist schon „{0}“ und nicht mehr zu prüfen",
        ),
        (r"The statement cannot be read: (.+)", "Der Kontoauszug kann nicht gelesen werden: {0}"),
    )
)
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_DECIMAL = re.compile(r"-?\d+\.\d{2}")


def say_problem(message: str, lang: str) -> str:
    """Return a service's (English) explanation of a refused value in the page's language."""
    if lang != "de":
        return message
    for pattern, german in _GERMAN_PROBLEMS:
        found = pattern.fullmatch(message)
        if found:
            return german.format(*(_german_value(group) for group in found.groups() if group is not None))
    return message


def _german_value(text: str) -> str:
    german = TEXTS["de"]
    for names in (german["statuses"], german["states"], german["match_statuses"]):
        if text in names:
            return names[text]
    if _ISO_DAY.fullmatch(text):
        return format_date(date.fromisoformat(text), "de")
    if _DECIMAL.fullmatch(text):
        return text.replace(".", ",")
    return text
