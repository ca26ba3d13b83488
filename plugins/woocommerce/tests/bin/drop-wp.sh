#!/usr/bin/env bash
# Remove a throwaway install made by install-wp.sh: its database and its directory.
set -euo pipefail
dir=${1:?usage: drop-wp.sh DIR}
[ -f "$dir/.install.env" ] || { echo "drop-wp.sh: $dir is not an install-wp.sh install" >&2; exit 1; }
# shellcheck disable=SC1091
. "$dir/.install.env"
WP_DB_HOST=$WP_DB_HOST WP_DB_NAME=$WP_DB_NAME php -r '
  [$host, $port] = array_pad(explode(":", getenv("WP_DB_HOST")), 2, "3306");
  $db = new mysqli($host, getenv("CLAIMBRIDGE_WP_DB_USER") ?: "root", getenv("CLAIMBRIDGE_WP_DB_PASSWORD") ?: "", "", (int) $port);
  $db->query("DROP DATABASE IF EXISTS `" . getenv("WP_DB_NAME") . "`");
'
rm -rf "$dir"
