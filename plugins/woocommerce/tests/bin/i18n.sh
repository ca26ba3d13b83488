#!/usr/bin/env bash
# The plugin's translations with GNU gettext.
#   i18n.sh pot     regenerate claimbridge/languages/claimbridge.pot from the PHP sources
#   i18n.sh mo      compile every .po into its .mo
#   i18n.sh check   fail when the .pot is stale, a .po misses or has a fuzzy string, or a .mo is stale
set -euo pipefail
plugin=$(cd "$(dirname "$0")/../../claimbridge" && pwd)
lang=$plugin/languages
pot=$lang/claimbridge.pot

generate_pot() {
  local out=$1
  (cd "$plugin" && find . -name '*.php' -not -path './vendor/*' | LC_ALL=C sort | xargs xgettext \
    --language=PHP --from-code=UTF-8 --sort-by-file --add-comments=translators: --no-wrap \
    --package-name=ClaimBridge --package-version="$(sed -n "s/^ \* Version: *//p" claimbridge.php)" \
    --msgid-bugs-address=support@claimbridge.example \
    --keyword=__ --keyword=_e --keyword=esc_html__ --keyword=esc_html_e --keyword=esc_attr__ \
    --keyword=esc_attr_e --keyword=_x:1,2c --keyword=esc_html_x:1,2c --keyword=esc_attr_x:1,2c \
    --keyword=_n:1,2 --keyword=_nx:1,2,4c --output=- ) \
  | sed -e '/^"POT-Creation-Date:/d' -e 's/charset=CHARSET/charset=UTF-8/' \
        -e '/^# SOME DESCRIPTIVE TITLE/,/^#, fuzzy/c\# ClaimBridge for WooCommerce\n# This file is distributed under the same license as the plugin (GPL-2.0-or-later).\n#, fuzzy' \
  > "$out"
}

case ${1:-check} in
  pot) generate_pot "$pot" ;;
  mo) for po in "$lang"/*.po; do msgfmt --check --output-file="${po%.po}.mo" "$po"; done ;;
  check)
    tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
    generate_pot "$tmp/claimbridge.pot"
    diff -u "$pot" "$tmp/claimbridge.pot" || { echo "i18n.sh: claimbridge.pot is stale; run i18n.sh pot" >&2; exit 1; }
    for po in "$lang"/*.po; do
      msgfmt --check --output-file="$tmp/check.mo" "$po"
      cmp -s "$tmp/check.mo" "${po%.po}.mo" || { echo "i18n.sh: ${po%.po}.mo is stale; run i18n.sh mo" >&2; exit 1; }
      missing=$(msgcmp --use-untranslated "$po" "$pot" 2>&1 || true)
      [ -z "$missing" ] || { echo "$missing" >&2; echo "i18n.sh: $po does not match the .pot" >&2; exit 1; }
      untranslated=$(msgattrib --untranslated --no-obsolete "$po" | grep -c '^msgid ' || true)
      fuzzy=$(msgattrib --only-fuzzy --no-obsolete "$po" | grep -c '^msgid ' || true)
      # msgattrib prints the header entry too when anything is listed.
      [ "$untranslated" -le 0 ] && [ "$fuzzy" -le 0 ] || { echo "i18n.sh: $po has $untranslated untranslated and $fuzzy fuzzy strings" >&2; exit 1; }
    done ;;
  *) echo "usage: i18n.sh pot|mo|check" >&2; exit 2 ;;
esac
