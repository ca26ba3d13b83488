#!/usr/bin/env bash
# Serve an install-wp.sh install with PHP's built-in server on its WP_URL's host and port (foreground).
#   setsid serve-wp.sh DIR & ... kill -- -$!
# PHP's server forks PHP_CLI_SERVER_WORKERS workers (default 4) that outlive a killed parent: start it in its
# own process group (setsid) and stop the whole group.
set -euo pipefail
dir=${1:?usage: serve-wp.sh DIR}
# shellcheck disable=SC1091
. "$dir/.install.env"
hostport=${WP_URL#*://}
hostport=${hostport%%/*}
export PHP_CLI_SERVER_WORKERS=${PHP_CLI_SERVER_WORKERS:-4}
exec php -d display_errors=stderr -S "$hostport" -t "$WP_DIR" "$(dirname "$0")/router.php"
