"""Settings forms: the areas' JSON documents turned into form fields named by JSON pointer, and back.

No rule lives here: a field's kind follows the type of the value the area's service returned, and whatever the
merchant types goes back to that service, whose validation errors (keyed by the same JSON pointers) are shown
beside the fields.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# Policy fields whose values come from a fixed set (merchants.policy's REVIEW_MODES, FAIL_MODES, ADDRESS_CHECK_TYPES).
_POLICY_CHOICES = {
    "/review_mode": ("offer", "hide"),
    "/fail_mode": ("hide_invoice", "allow_up_to"),
    "/bureau/address_check_type": ("NO", "BA", "PE", "BB", "PB"),
}
# Shown read-only on the page, never posted back (the bureau account is set through the API).
_POLICY_SKIPPED = ("/bureau_account",)


@dataclass(frozen=True)
class FormField:
    """One input of a settings form: its pointer (the form name), kind, current value and allowed choices."""

    pointer: str
    kind: str  # "int", "number", "text", "bool", "choice", "lines", "optional_int"
    value: Any
    choices: tuple[str, ...] = ()

    @property
    def dom_id(self) -> str:
        return "f" + self.pointer.replace("/", "-").replace("_", "-").lower()

    @property
    def key(self) -> str:
        """Return the pointer without list indexes, naming the field's label and explanation."""
        return "/".join(part for part in self.pointer.split("/") if not part.isdigit())

    @property
    def group(self) -> str:
        parts = self.pointer.split("/")
        return parts[1] if len(parts) > 2 else ""


def _kind(pointer: str, value: Any) -> tuple[str, tuple[str, ...]]:
    if pointer in _POLICY_CHOICES:
        return "choice", _POLICY_CHOICES[pointer]
    if isinstance(value, bool):
        return "bool", ()
    if isinstance(value, int):
        return "int", ()
    if isinstance(value, list):
        return "lines", ()
    if value is None:
        return "optional_int", ()
    return "number" if _is_decimal(value) else "text", ()


def _is_decimal(value: Any) -> bool:
    text = str(value)
    return text.replace(".", "", 1).isdigit()


def policy_fields(document: Mapping[str, Any], prefix: str = "") -> list[FormField]:
    """Return one field per leaf of the policy document, in the document's order."""
    fields = []
    for key, value in document.items():
        pointer = f"{prefix}/{key}"
        if pointer in _POLICY_SKIPPED:
            continue
        if isinstance(value, Mapping):
            fields.extend(policy_fields(value, pointer))
            continue
        kind, choices = _kind(pointer, value)
        fields.append(FormField(pointer, kind, value, choices))
    return fields


def _converted(field: FormField, form: Mapping[str, str]) -> Any:
    raw = form.get(field.pointer)
    if field.kind == "bool":
        return raw is not None
    raw = (raw or "").strip()
    if field.kind == "lines":
        return [line.strip() for line in raw.replace(",", "\n").splitlines() if line.strip()]
    if field.kind in ("int", "optional_int"):
        if field.kind == "optional_int" and not raw:
            return None
        try:
            return int(raw)
        except ValueError:
            return raw  # the service names it: "must be an integer"
    return raw


def _put(document: dict[str, Any], pointer: str, value: Any) -> None:
    parts = pointer.strip("/").split("/")
    target = document
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = value


def document_from_form(fields: Iterable[FormField], form: Mapping[str, str]) -> dict[str, Any]:
    """Rebuild the JSON document the fields came from with the values the merchant posted."""
    document: dict[str, Any] = {}
    for field in fields:
        _put(document, field.pointer, _converted(field, form))
    return document


def schedule_document(form: Mapping[str, str], current: Mapping[str, Any]) -> dict[str, Any]:
    """Rebuild both dunning schedules from the form: per debtor kind, its stages as posted (kind kept).

    What the form does not show (the grace banking days, the cost of a letter) is kept as stored, not reset.
    """
    document: dict[str, Any] = {}
    for debtor_kind, schedule in current.items():
        base = f"/{debtor_kind}"
        stages = []
        for index, stage in enumerate(schedule["stages"]):
            where = f"{base}/stages/{index}"
            stages.append(
                {
                    "kind": stage["kind"],
                    "offset_days": _integer(form.get(f"{where}/offset_days")),
                    "fee": (form.get(f"{where}/fee") or "").strip().replace(",", "."),
                    "payment_deadline_days": _integer(form.get(f"{where}/payment_deadline_days")),
                    "channel": form.get(f"{where}/channel", stage["channel"]),
                }
            )
        document[debtor_kind] = {
            "debtor_kind": debtor_kind,
            "handover_after_days": _integer(form.get(f"{base}/handover_after_days")),
            "grace_banking_days": schedule["grace_banking_days"],
            "letter_cost": schedule["letter_cost"],
            "stages": stages,
        }
    return document


def _integer(raw: str | None) -> Any:
    text = (raw or "").strip()
    try:
        return int(text)
    except ValueError:
        return text


def error_map(details: Any) -> dict[str, list[str]]:
    """Return a service's error details as ``{pointer: [messages]}`` (other shapes become a page error)."""
    if not isinstance(details, Mapping):
        return {}
    return {
        str(pointer): [str(message) for message in (messages if isinstance(messages, list) else [messages])]
        for pointer, messages in details.items()
    }
