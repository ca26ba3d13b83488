"""Write claimbridge-de_DE.po from the .pot and the German texts below (run after ``i18n.sh pot``).

Keeping the German texts in one reviewed table makes a missing translation a failing ``i18n.sh check``
instead of an English string in a German shop.
"""

import re
import sys
from pathlib import Path

GERMAN = {
    "You are not allowed to do this.": "Dazu fehlt Ihnen die Berechtigung.",
    "Order %s": "Bestellung %s",
    "Dismiss": "Ausblenden",
    "Collection": "Inkasso",
    'Connect ClaimBridge first under <a href=\\"%s\\">WooCommerce → Settings → ClaimBridge</a>.': 'Verbinden Sie ClaimBridge zuerst unter <a href=\\"%s\\">WooCommerce → Einstellungen → ClaimBridge</a>.',
    "ClaimBridge merchant console": "ClaimBridge-Händlerkonsole",
    "ClaimBridge": "ClaimBridge",
    "Risk decision": "Risikoentscheidung",
    "not checked": "nicht geprüft",
    "Risk check": "Risikoprüfung",
    "Receivable": "Forderung",
    "Due date": "Fälligkeit",
    "Dunning stage": "Mahnstufe",
    "none": "keine",
    "Collection case": "Inkassofall",
    "notice %d sent": "%d. Schreiben versandt",
    "Dunning": "Mahnwesen",
    "stopped": "gestoppt",
    "open": "offen",
    "paid": "bezahlt",
    "partially paid": "teilweise bezahlt",
    "cancelled": "storniert",
    "refunded": "erstattet",
    "disputed": "bestritten",
    "handed over to collection": "an Inkasso übergeben",
    "Propose handover to collection": "Zur Inkasso-Übergabe vorschlagen",
    "ClaimBridge does not track this order yet, so it cannot be proposed for collection.": "ClaimBridge verfolgt diese Bestellung noch nicht; sie kann daher nicht zum Inkasso vorgeschlagen werden.",
    "Proposed for handover to collection. Approve it under WooCommerce → Collection.": "Zur Inkasso-Übergabe vorgeschlagen. Bitte unter WooCommerce → Inkasso freigeben.",
    "accepted": "angenommen",
    "accepted, flagged for review": "angenommen, zur Prüfung markiert",
    "declined": "abgelehnt",
    "backend unavailable (fail mode applied)": "Backend nicht erreichbar (Ausfallverhalten angewendet)",
    "Enter the backend URL, client id and client secret under WooCommerce → Settings → ClaimBridge.": "Tragen Sie Backend-URL, Client-ID und Client-Secret unter WooCommerce → Einstellungen → ClaimBridge ein.",
    "The ClaimBridge backend could not be reached: %s": "Das ClaimBridge-Backend war nicht erreichbar: %s",
    "The ClaimBridge backend refused the client id or secret.": "Das ClaimBridge-Backend hat Client-ID oder Secret abgelehnt.",
    "The ClaimBridge client lacks the permission (scope) for this action; ask your ClaimBridge operator.": "Dem ClaimBridge-Client fehlt die Berechtigung (Scope) für diese Aktion; wenden Sie sich an Ihren "
    "ClaimBridge-Betreiber.",
    "The ClaimBridge backend answered %1$d: %2$s": "Das ClaimBridge-Backend antwortete %1$d: %2$s",
    "Invoice": "Kauf auf Rechnung",
    "Payment gateway ids ClaimBridge hides for this buyer.": "IDs der Zahlungsarten, die ClaimBridge für diesen Käufer ausblendet.",
    "If you choose to pay by invoice, we may check your identity and creditworthiness with a credit agency. "
    "The result only decides whether invoice payment is offered.": "Wenn Sie Kauf auf Rechnung wählen, prüfen wir gegebenenfalls Ihre Identität und Bonität bei einer "
    "Auskunftei. Das Ergebnis entscheidet nur darüber, ob Kauf auf Rechnung angeboten wird.",
    "ClaimBridge dunning notice": "ClaimBridge-Mahnung",
    "Payment reminders, dunning notices and final notices for unpaid invoice orders, written by ClaimBridge.": "Zahlungserinnerungen, Mahnungen und letzte Mahnungen zu unbezahlten Rechnungsbestellungen, verfasst "
    "von ClaimBridge.",
    "Invoice (ClaimBridge)": "Kauf auf Rechnung (ClaimBridge)",
    "Buyers pay after receiving the goods. ClaimBridge hides this method for risky buyers and tracks, dunns "
    "and collects unpaid invoices.": "Käufer zahlen nach Erhalt der Ware. ClaimBridge blendet diese Zahlungsart für riskante Käufer aus und "
    "verfolgt, mahnt und übergibt unbezahlte Rechnungen ans Inkasso.",
    "Enable/Disable": "Aktivieren/Deaktivieren",
    "Offer payment by invoice": "Kauf auf Rechnung anbieten",
    "Title": "Titel",
    "The name buyers see at checkout.": "Der Name, den Käufer an der Kasse sehen.",
    "Description": "Beschreibung",
    "Pay conveniently after receiving your order. You will find the account details in your order confirmation.": "Bequem nach Erhalt der Ware bezahlen. Die Bankverbindung finden Sie in Ihrer Bestellbestätigung.",
    "Awaiting payment by invoice.": "Zahlung per Rechnung ausstehend.",
    "Please transfer %1$s by %2$s.": "Bitte überweisen Sie %1$s bis zum %2$s.",
    "Account holder: %s": "Kontoinhaber: %s",
    "IBAN: %s": "IBAN: %s",
    "BIC: %s": "BIC: %s",
    "You will receive the account details with your invoice.": "Die Bankverbindung erhalten Sie mit Ihrer Rechnung.",
    "Payment reference: %s": "Verwendungszweck: %s",
    "Payment instructions": "Zahlungshinweise",
    "GiroCode": "GiroCode",
    "GiroCode: scan the code in your banking app to fill in the transfer.": "GiroCode: Scannen Sie den Code mit Ihrer Banking-App, um die Überweisung auszufüllen.",
    "ClaimBridge needs WooCommerce: install and activate WooCommerce, then ClaimBridge protects your invoice "
    "payments.": "ClaimBridge benötigt WooCommerce: Installieren und aktivieren Sie WooCommerce, dann schützt ClaimBridge "
    "Ihre Rechnungszahlungen.",
    "When you check out, we send your name, e-mail address, phone number, billing and shipping address, the "
    "order total and the items in your cart to our service provider ClaimBridge, which checks whether payment "
    "by invoice can be offered (Art. 6(1)(b) and (f) GDPR). Only once you choose payment by invoice may your "
    "name, address and date of birth be passed on to a credit agency to check your identity and "
    "creditworthiness; before that choice, only our own data decides. If invoice payment is not offered, every "
    "other payment method remains available; you may ask for a person to review the decision. For unpaid "
    "invoice orders ClaimBridge sends payment reminders on our behalf and, after a final notice, may hand the "
    "claim to a debt collection agency.": "Beim Bestellen übermitteln wir Ihren Namen, Ihre E-Mail-Adresse, Telefonnummer, Rechnungs- und "
    "Lieferadresse, den Bestellwert und die Artikel im Warenkorb an unseren Dienstleister ClaimBridge, der "
    "prüft, ob Kauf auf Rechnung angeboten werden kann (Art. 6 Abs. 1 lit. b und f DSGVO). Erst wenn Sie "
    "Kauf auf Rechnung wählen, dürfen Name, Anschrift und Geburtsdatum an eine Auskunftei übermittelt "
    "werden, um Identität und Bonität zu prüfen; vorher entscheiden nur unsere eigenen Daten. Wird Kauf auf "
    "Rechnung nicht angeboten, bleiben alle anderen Zahlungsarten verfügbar; Sie können verlangen, dass ein "
    "Mensch die Entscheidung überprüft. Bei unbezahlten Rechnungsbestellungen versendet ClaimBridge in "
    "unserem Auftrag Zahlungserinnerungen und kann die Forderung nach einer letzten Mahnung an ein "
    "Inkassounternehmen übergeben.",
    "The ClaimBridge dunning notice e-mail is disabled under WooCommerce → Settings → Emails.": "Die E-Mail „ClaimBridge-Mahnung“ ist unter WooCommerce → Einstellungen → E-Mails deaktiviert.",
    "WordPress could not send the e-mail (wp_mail failed); check the shop's mail setup.": "WordPress konnte die E-Mail nicht versenden (wp_mail schlug fehl); prüfen Sie den Mailversand des Shops.",
    "ClaimBridge sent the %1$s to %2$s.": "ClaimBridge hat die %1$s an %2$s gesendet.",
    "payment reminder": "Zahlungserinnerung",
    "dunning notice": "Mahnung",
    "final notice": "letzte Mahnung",
    "The same request is being processed; retry shortly.": "Dieselbe Anfrage wird gerade bearbeitet; bitte in Kürze erneut versuchen.",
    "Order %d does not exist.": "Bestellung %d existiert nicht.",
    "Connect this shop to your ClaimBridge backend. Your risk policy, dunning schedule and handover rules are "
    "managed under WooCommerce → Collection.": "Verbinden Sie diesen Shop mit Ihrem ClaimBridge-Backend. Risikoregeln, Mahnplan und Übergaberegeln "
    "verwalten Sie unter WooCommerce → Inkasso.",
    "Backend URL": "Backend-URL",
    "Client ID": "Client-ID",
    "Not set yet.": "Noch nicht gesetzt.",
    "Stored. Leave blank to keep it.": "Gespeichert. Leer lassen, um es zu behalten.",
    "Client secret": "Client-Secret",
    "When the check fails": "Wenn die Prüfung scheitert",
    "Hide invoice payment (safe)": "Kauf auf Rechnung ausblenden (sicher)",
    "Offer invoice payment anyway": "Kauf auf Rechnung trotzdem anbieten",
    "What buyers see when the ClaimBridge backend cannot be reached within 2 seconds.": "Was Käufer sehen, wenn das ClaimBridge-Backend nicht innerhalb von 2 Sekunden antwortet.",
    "Message to buyers": "Hinweis für Käufer",
    "Shown when invoice payment is not offered, the same in all your shops.": "Wird angezeigt, wenn Kauf auf "
    "Rechnung nicht angeboten wird, in allen Ihren Shops gleich.",
    "Set by %s in wp-config.php.": "Durch %s in der wp-config.php festgelegt.",
    "Invoice-like payment methods": "Rechnungsähnliche Zahlungsarten",
    "These methods are hidden for risky buyers and checked again when an order is placed; their orders become "
    "receivables. Your risk policy decides them for all your shops.": "Diese Zahlungsarten werden für riskante Käufer "
    "ausgeblendet und beim Absenden der Bestellung erneut geprüft; ihre Bestellungen werden zu Forderungen. Ihre "
    "Risikorichtlinie legt sie für alle Ihre Shops fest.",
    "Invoice payment": "Kauf auf Rechnung",
    "The ClaimBridge backend could not be asked; its defaults are shown and used until it answers.": "Das "
    "ClaimBridge-Backend war nicht erreichbar; bis es antwortet, werden seine Voreinstellungen angezeigt und verwendet.",
    "Change in the ClaimBridge settings": "In den ClaimBridge-Einstellungen ändern",
    "Connection": "Verbindung",
    "Save the backend URL, client id and secret first; then connect the shop.": "Speichern Sie zuerst Backend-URL, Client-ID und Secret; verbinden Sie dann den Shop.",
    "This shop is not connected yet. Connecting gives ClaimBridge a WooCommerce REST key so it can follow your "
    "invoice orders.": "Dieser Shop ist noch nicht verbunden. Beim Verbinden erhält ClaimBridge einen WooCommerce-REST-Schlüssel, "
    "um Ihre Rechnungsbestellungen zu verfolgen.",
    "%1$s (connection %2$d)": "%1$s (Verbindung %2$d)",
    "Status": "Status",
    "Connect": "Verbinden",
    "Connect again": "Erneut verbinden",
    "Payment by invoice is not available for this order. Please choose another payment method.": "Kauf auf Rechnung ist für diese Bestellung nicht verfügbar. Bitte wählen Sie eine andere Zahlungsart.",
}

HEADER = """# German translation of ClaimBridge for WooCommerce.
# This file is distributed under the same license as the plugin (GPL-2.0-or-later).
msgid ""
msgstr ""
"Project-Id-Version: ClaimBridge\\n"
"PO-Revision-Date: 2026-12-06 16:00+0000\\n"
"Last-Translator: ClaimBridge <support@claimbridge.example>\\n"
"Language-Team: German <support@claimbridge.example>\\n"
"Language: de_DE\\n"
"MIME-Version: 1.0\\n"
"Content-Type: text/plain; charset=UTF-8\\n"
"Content-Transfer-Encoding: 8bit\\n"
"Plural-Forms: nplurals=2; plural=(n != 1);\\n"
"""


def main() -> int:
    """Write the German .po; list every string of the .pot that has no German text."""
    languages = Path(sys.argv[1])
    pot = (languages / "claimbridge.pot").read_text(encoding="utf-8")
    entries = re.findall(r'((?:#[^\n]*\n)*)msgid "(.*)"\nmsgstr ""\n', pot)
    missing = [msgid for _, msgid in entries if msgid and msgid not in GERMAN]
    if missing:
        print("no German text for:", *missing, sep="\n  ", file=sys.stderr)
        return 1
    blocks = [HEADER]
    for comments, msgid in entries:
        if msgid:
            blocks.append(f'{comments}msgid "{msgid}"\nmsgstr "{GERMAN[msgid]}"\n')
    (languages / "claimbridge-de_DE.po").write_text("\n".join(blocks), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
