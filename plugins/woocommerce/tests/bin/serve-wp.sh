#!/usr/bin/env bash
# Serve an install-wp.sh install with PHP's built-in server on its WP_URL's host and port (foreground).
#   setsid serve-wp.sh DIR [HOST:PORT] & ... kill -- -$!
# HOST:PORT listens elsewhere, for a test proxy that answers at WP_URL and forwards here.
# PHP's server forks PHP_CLI_SERVER_WORKERS workers (default 4) that outlive a killed parent: start it in its
# own process group (setsid) and stop the whole group.
set -euo pipefail
dir=${1:?usage: serve-wp.sh DIR [HOST:PORT]}
# shellcheck disable=SC1091
. "$dir/.install.env"
hostport=${WP_URL#*://}
hostport=${2:-${hostport%%/*}}
export PHP_CLI_SERVER_WORKERS=${PHP_CLI_SERVER_WORKERS:-4}
exec php -d display_errors=stderr -S "$hostport" -t "$WP_DIR" "$(dirname "$0")/router.php"
