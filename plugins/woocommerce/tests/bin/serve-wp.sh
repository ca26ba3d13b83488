#!/usr/bin/env bash
# Serve an install-wp.sh install with PHP's built-in server on its WP_URL's host and port (foreground).
#   serve-wp.sh DIR        (stop it with kill PID; PHP_CLI_SERVER_WORKERS sets parallel workers, default 4)
set -euo pipefail
dir=${1:?usage: serve-wp.sh DIR}
# shellcheck disable=SC1091
. "$dir/.install.env"
hostport=${WP_URL#*://}
hostport=${hostport%%/*}
export PHP_CLI_SERVER_WORKERS=${PHP_CLI_SERVER_WORKERS:-4}
exec php -d display_errors=stderr -S "$hostport" -t "$WP_DIR" "$(dirname "$0")/router.php"
