#!/usr/bin/env bash
# Static checks of the plugin: php -l on every PHP file, translations complete and current (i18n.sh check).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
status=0
while IFS= read -r -d '' file; do
  out=$(php -l "$file" 2>&1) || { echo "$out" >&2; status=1; }
done < <(find "$root" -name '*.php' -print0)
"$root/tests/bin/i18n.sh" check
exit $status
