"""Texts the Shopware endpoints show in the Administration, in German and English by ``sw-user-language``."""

from __future__ import annotations

from backend.console.sessions import language_for

ADMIN_TEXTS: dict[str, dict[str, str]] = {
    "de": {
        "nothing_eligible": (
            "Für die ausgewählten Bestellungen gibt es keinen Übergabevorschlag und keinen Inkassofall."
        ),
    },
    "en": {
        "nothing_eligible": "None of the selected orders has a handover proposal or a collection case.",
    },
}


def admin_language(user_language: str | None) -> str:
    """Return "de" for a German Administration user (``de-DE``, ``de-AT`` …) and "en" otherwise."""
    return language_for(user_language)
