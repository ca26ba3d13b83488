#!/usr/bin/env bash
# Run the plugin's PHPUnit suites inside real WordPress on MariaDB, against a real ClaimBridge backend.
#
#   plugins/woocommerce/tests/bin/run-tests.sh [phpunit args...]
#   CLAIMBRIDGE_PLUGIN_TEST_MODES=woocommerce run-tests.sh --filter PlacementTest
#
# Starts the backend (gunicorn on a free loopback port, SQLite, a demo merchant and client), then for each
# mode builds a throwaway WordPress install (database cb_plugin_<pid>_<mode>) and runs PHPUnit in it:
#   - "core": WordPress without WooCommerce (activation notice, settings, gate, routes through their seams);
#   - "woocommerce": when CLAIMBRIDGE_WOOCOMMERCE_DIR points at a built WooCommerce release tree, the same
#     suite plus the WooCommerce suite (Store API and classic placement over HTTP, real orders and e-mails).
# Everything it started is stopped and dropped on exit.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
repo=$(cd "$here/../../.." && pwd)
python=${CLAIMBRIDGE_PYTHON:-$repo/.venv/bin/python}
work=$(mktemp -d "${TMPDIR:-/tmp}/cb_plugin.XXXXXX")
pids=()
installs=()
cleanup() {
  # Each server runs in its own process group (setsid): PHP's server forks workers, gunicorn its workers.
  for pid in "${pids[@]}"; do kill -- "-$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  for dir in "${installs[@]}"; do "$here/bin/drop-wp.sh" "$dir" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { "$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() {
  for _ in $(seq 1 100); do
    curl -s -o /dev/null "$1" && return 0
    sleep 0.2
  done
  echo "run-tests.sh: nothing answers at $1" >&2; return 1
}

# The backend, as an operator runs it.
backend_port=$(free_port)
export CLAIMBRIDGE_DATABASE_URL="sqlite:///$work/claimbridge.db"
export CLAIMBRIDGE_PUBLIC_URL="http://127.0.0.1:$backend_port"
export CLAIMBRIDGE_ALLOW_PRIVATE_URLS=true
export CLAIMBRIDGE_SECRET_KEY=plugin-tests-secret-key-0123456789abcdef
export CLAIMBRIDGE_IDENTITY_KEY=plugin-tests-identity-key-0123456789abcdef
export CLAIMBRIDGE_ENCRYPTION_KEY=$("$python" -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')
export CLAIMBRIDGE_TOKEN_RATE_LIMIT=1000/minute
cd "$repo"
"$repo/.venv/bin/claimbridge" db upgrade >/dev/null
"$repo/.venv/bin/claimbridge" demo --json > "$work/demo.json"
setsid "$repo/.venv/bin/gunicorn" --bind "127.0.0.1:$backend_port" --workers 2 --log-level warning \
  "backend:create_app()" > "$work/backend.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$backend_port/healthz"
export CLAIMBRIDGE_TEST_BACKEND_URL="http://127.0.0.1:$backend_port"
CLAIMBRIDGE_TEST_CLIENT_ID=$("$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["client_id"])' "$work/demo.json")
CLAIMBRIDGE_TEST_CLIENT_SECRET=$("$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["client_secret"])' "$work/demo.json")
export CLAIMBRIDGE_TEST_CLIENT_ID CLAIMBRIDGE_TEST_CLIENT_SECRET

# The merchant's policy counts the cheque gateway as invoice-like too (the backend's defaults plus one), so the
# suites show that the plugin follows the backend's list. Set once: the backend's workers cache a policy 5 s.
token=$(curl -s -u "$CLAIMBRIDGE_TEST_CLIENT_ID:$CLAIMBRIDGE_TEST_CLIENT_SECRET" -d grant_type=client_credentials \
  "$CLAIMBRIDGE_TEST_BACKEND_URL/oauth/token" | "$python" -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
curl -sf -o /dev/null -X PUT -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d '{"invoice_methods": ["invoice", "payment_invoicepayment", "german_market_purchase_on_account", "claimbridge_invoice", "cheque"]}' \
  "$CLAIMBRIDGE_TEST_BACKEND_URL/api/v1/policy"

# The plugin is installed from the zip merchants get (claimbridge woocommerce package), not from the source tree.
"$repo/.venv/bin/claimbridge" woocommerce package --output "$work/claimbridge.zip" >/dev/null
unzip -q "$work/claimbridge.zip" -d "$work/package"

run_mode() {
  local mode=$1; shift
  local wp_port dir activate=claimbridge
  wp_port=$(free_port)
  dir="$work/wp-$mode"
  [ "$mode" = woocommerce ] && activate=woocommerce,claimbridge
  installs+=("$dir")
  (
    [ "$mode" = core ] && unset CLAIMBRIDGE_WOOCOMMERCE_DIR
    "$here/bin/install-wp.sh" "$dir" --url "http://127.0.0.1:$wp_port" --db "cb_plugin_$$_$mode" \
      --plugin "$work/package/claimbridge" --activate "$activate" > "$work/install-$mode.log" 2>&1
  ) || { cat "$work/install-$mode.log" >&2; return 1; }
  setsid "$here/bin/serve-wp.sh" "$dir" > "$work/serve-$mode.log" 2>&1 &
  pids+=($!)
  wait_http "http://127.0.0.1:$wp_port/wp-login.php"
  local suites=core
  [ "$mode" = woocommerce ] && suites=core,woocommerce
  echo "== PHPUnit in WordPress ($mode)"
  WP_DIR=$dir CLAIMBRIDGE_TEST_MODE=$mode phpunit -c "$here/phpunit.xml.dist" --testsuite "$suites" "$@"
  if [ "$mode" = woocommerce ]; then
    # The admin pages in Chromium, in a shop connected as a merchant's Connect leaves it.
    WP_DIR=$dir php "$here/bin/connect-shop.php" > "$work/connect-$mode.log" 2>&1 || { cat "$work/connect-$mode.log" >&2; return 1; }
    echo "== Chromium: settings and Collection pages ($mode) -> $screenshots"
    "$python" "$here/bin/screenshots.py" "http://127.0.0.1:$wp_port" "$screenshots"
  fi
  # What the served shop logged while the tests used it: any PHP error of the plugin, or a fatal anywhere.
  local log=$dir/wp-content/debug.log
  if [ -f "$log" ] && grep -E "PHP Fatal|PHP (Warning|Notice|Deprecated).*/package/claimbridge/" "$log" >&2; then
    echo "run-tests.sh: the shop logged PHP errors from the plugin ($mode)" >&2
    return 1
  fi
}

# Screenshots of the admin pages, for reviewers (CONTRIBUTING names the folder).
screenshots=${CLAIMBRIDGE_SCREENSHOT_DIR:-$repo/build/woocommerce-screenshots}
# CLAIMBRIDGE_PLUGIN_TEST_MODES narrows the run while working (e.g. "woocommerce").
for mode in ${CLAIMBRIDGE_PLUGIN_TEST_MODES:-core woocommerce}; do
  if [ "$mode" = woocommerce ] && [ -z "${CLAIMBRIDGE_WOOCOMMERCE_DIR:-}" ]; then
    continue
  fi
  run_mode "$mode" "$@"
done
