"""The installable zip of the WooCommerce plugin (plugins/woocommerce/claimbridge in the source tree)."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

PLUGIN_SLUG = "claimbridge"
SOURCE_DIR = Path(__file__).resolve().parents[2] / "plugins" / "woocommerce" / PLUGIN_SLUG
# A fixed date makes the same source give the same zip, byte for byte.
ZIP_DATE = (2026, 1, 1, 0, 0, 0)
_VERSION = re.compile(r"^\s*\*\s*Version:\s*(\S+)", re.MULTILINE)


class PluginSourceError(ValueError):
    """The plugin's source folder is missing or incomplete."""


def plugin_version(source: Path = SOURCE_DIR) -> str:
    """Return the version in the plugin's main file header."""
    main_file = source / f"{PLUGIN_SLUG}.php"
    if not main_file.is_file():
        raise PluginSourceError(f"{main_file} does not exist; run this from a ClaimBridge source checkout")
    match = _VERSION.search(main_file.read_text(encoding="utf-8"))
    if match is None:
        raise PluginSourceError(f"{main_file} has no Version header")
    return match.group(1)


def build_plugin_zip(source: Path = SOURCE_DIR) -> bytes:
    """Zip the plugin under a top folder named after its slug, as WordPress's plugin upload expects."""
    plugin_version(source)
    if not (source / "languages" / f"{PLUGIN_SLUG}-de_DE.mo").is_file():
        raise PluginSourceError(
            "the German translation is not compiled (plugins/woocommerce/tests/bin/i18n.sh mo)"
        )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(f"{PLUGIN_SLUG}/{path.relative_to(source).as_posix()}", date_time=ZIP_DATE)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()
