#!/usr/bin/env bash
# Build a throwaway WordPress install (Debian's wordpress package) in DIR on its own MariaDB database.
#
#   install-wp.sh DIR [--url URL] [--db NAME] [--plugin PATH]... [--activate SLUG,...] [--locale de_DE]
#
# - core is copied from $WORDPRESS_CORE_DIR (default /usr/share/wordpress; hard links when possible);
# - the database NAME (default cb_wp_<pid>) is created fresh on $CLAIMBRIDGE_WP_DB_HOST (127.0.0.1:3306,
#   user root, no password unless CLAIMBRIDGE_WP_DB_USER/_PASSWORD say otherwise);
# - every --plugin PATH is symlinked into wp-content/plugins/<basename>; with CLAIMBRIDGE_WOOCOMMERCE_DIR set
#   (a built WooCommerce release tree with vendor/) it is linked as wp-content/plugins/woocommerce;
# - --activate activates plugins by slug in that order (WooCommerce's own installer runs, creating its pages);
# - pretty permalinks are on and an mu-plugin lets PHP's built-in server serve them (see serve-wp.sh).
#
# Writes DIR/.install.env (WP_DIR, WP_URL, WP_DB_NAME, admin login) and prints it. drop-wp.sh DIR removes it all.
set -euo pipefail

usage() { sed -n '2,14p' "$0" >&2; exit 2; }
[ $# -ge 1 ] || usage
dir=$1; shift
url=http://127.0.0.1:8080
db=cb_wp_$$
locale=
plugins=()
activate=
while [ $# -gt 0 ]; do
  case $1 in
    --url) url=$2; shift 2 ;;
    --db) db=$2; shift 2 ;;
    --plugin) plugins+=("$2"); shift 2 ;;
    --activate) activate=$2; shift 2 ;;
    --locale) locale=$2; shift 2 ;;
    *) usage ;;
  esac
done
[[ $db =~ ^[A-Za-z0-9_]+$ ]] || { echo "install-wp.sh: bad database name $db" >&2; exit 2; }

core=${WORDPRESS_CORE_DIR:-/usr/share/wordpress}
db_host=${CLAIMBRIDGE_WP_DB_HOST:-127.0.0.1:3306}
db_user=${CLAIMBRIDGE_WP_DB_USER:-root}
db_password=${CLAIMBRIDGE_WP_DB_PASSWORD:-}
[ -f "$core/wp-settings.php" ] || { echo "install-wp.sh: no WordPress at $core (apt-get install wordpress)" >&2; exit 1; }

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
# Hard links cost nothing and keep __FILE__ inside DIR (symlinked core files would resolve to $core and
# load Debian's wp-config.php); fall back to a copy across file systems.
cp -al "$core/." "$dir/" 2>/dev/null || cp -a "$core/." "$dir/"
rm -f "$dir/wp-config.php" "$dir/.htaccess"
# Debian links some of WordPress's files to shared packages with relative links (../../../javascript/...)
# that break once copied elsewhere: point each copied link at what it resolves to in the package.
(cd "$core" && find . -type l) | while IFS= read -r link; do
  target=$(readlink -f "$core/$link") && [ -e "$target" ] && ln -sfn "$target" "$dir/$link"
done
# wp-content must be ours to write to (uploads, WooCommerce's logs): give it real directories.
rm -rf "$dir/wp-content"
mkdir -p "$dir/wp-content/plugins" "$dir/wp-content/themes" "$dir/wp-content/mu-plugins" "$dir/wp-content/uploads"
cp -a "$core/wp-content/themes/." "$dir/wp-content/themes/"
ln -s "$core/wp-content/languages" "$dir/wp-content/languages"

DB_HOST=$db_host DB_USER=$db_user DB_PASSWORD=$db_password DB_NAME=$db php -r '
  [$host, $port] = array_pad(explode(":", getenv("DB_HOST")), 2, "3306");
  $db = new mysqli($host, getenv("DB_USER"), getenv("DB_PASSWORD"), "", (int) $port);
  $name = getenv("DB_NAME");
  $db->query("DROP DATABASE IF EXISTS `$name`");
  $db->query("CREATE DATABASE `$name` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci");
'

salt() { php -r 'echo bin2hex(random_bytes(32));'; }
cat > "$dir/wp-config.php" <<CONFIG
<?php
// Throwaway install written by plugins/woocommerce/tests/bin/install-wp.sh.
define( 'DB_NAME', '$db' );
define( 'DB_USER', '$db_user' );
define( 'DB_PASSWORD', '$db_password' );
define( 'DB_HOST', '$db_host' );
define( 'DB_CHARSET', 'utf8mb4' );
define( 'DB_COLLATE', '' );
define( 'WP_HOME', '$url' );
define( 'WP_SITEURL', '$url' );
define( 'AUTH_KEY', '$(salt)' );
define( 'SECURE_AUTH_KEY', '$(salt)' );
define( 'LOGGED_IN_KEY', '$(salt)' );
define( 'NONCE_KEY', '$(salt)' );
define( 'AUTH_SALT', '$(salt)' );
define( 'SECURE_AUTH_SALT', '$(salt)' );
define( 'LOGGED_IN_SALT', '$(salt)' );
define( 'NONCE_SALT', '$(salt)' );
define( 'WP_DEBUG', true );
define( 'WP_DEBUG_LOG', __DIR__ . '/wp-content/debug.log' );
// Errors go to the log, not into pages and JSON answers; tests read the log (see WP_DEBUG_LOG).
define( 'WP_DEBUG_DISPLAY', false );
define( 'AUTOMATIC_UPDATER_DISABLED', true );
define( 'WP_AUTO_UPDATE_CORE', false );
define( 'DISALLOW_FILE_MODS', true );
if ( file_exists( __DIR__ . '/wp-config-extra.php' ) ) {
	require __DIR__ . '/wp-config-extra.php';
}
\$table_prefix = 'wp_';
if ( ! defined( 'ABSPATH' ) ) {
	define( 'ABSPATH', __DIR__ . '/' );
}
require_once ABSPATH . 'wp-settings.php';
CONFIG

cat > "$dir/wp-content/mu-plugins/claimbridge-test-install.php" <<'MU'
<?php
/**
 * Throwaway test install: PHP's built-in server routes every request through index.php (serve-wp.sh), so
 * pretty permalinks work without Apache; no update checks reach out to the internet.
 */
add_filter( 'got_url_rewrite', '__return_true' );
add_filter( 'pre_http_request', function ( $pre, $args, $url ) {
	$host = (string) wp_parse_url( $url, PHP_URL_HOST );
	if ( in_array( $host, array( 'api.wordpress.org', 'downloads.wordpress.org', 'woocommerce.com', 'public-api.wordpress.com' ), true ) ) {
		return new WP_Error( 'http_request_blocked', 'test install: no internet' );
	}
	return $pre;
}, 10, 3 );
MU

for plugin in "${plugins[@]}"; do
  plugin=$(cd "$plugin" && pwd)
  ln -sfn "$plugin" "$dir/wp-content/plugins/$(basename "$plugin")"
done
if [ -n "${CLAIMBRIDGE_WOOCOMMERCE_DIR:-}" ]; then
  [ -f "$CLAIMBRIDGE_WOOCOMMERCE_DIR/woocommerce.php" ] || {
    echo "install-wp.sh: CLAIMBRIDGE_WOOCOMMERCE_DIR=$CLAIMBRIDGE_WOOCOMMERCE_DIR has no woocommerce.php" >&2; exit 1; }
  ln -sfn "$CLAIMBRIDGE_WOOCOMMERCE_DIR" "$dir/wp-content/plugins/woocommerce"
fi

WP_DIR=$dir WP_URL=$url WP_LOCALE=$locale WP_ACTIVATE=$activate php -d display_errors=stderr <<'PHP'
<?php
define( 'WP_INSTALLING', true );
$_SERVER['HTTP_HOST'] = parse_url( getenv( 'WP_URL' ), PHP_URL_HOST );
require getenv( 'WP_DIR' ) . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';
require_once ABSPATH . 'wp-admin/includes/plugin.php';
$result = wp_install( 'ClaimBridge Test Shop', 'admin', 'admin@example.org', false, '', 'password', getenv( 'WP_LOCALE' ) ?: '' );
if ( is_wp_error( $result ) ) {
	fwrite( STDERR, $result->get_error_message() . "\n" );
	exit( 1 );
}
update_option( 'permalink_structure', '/%postname%/' );
update_option( 'timezone_string', 'Europe/Berlin' );
if ( getenv( 'WP_LOCALE' ) ) {
	update_option( 'WPLANG', getenv( 'WP_LOCALE' ) );
}
PHP

# Activation runs in a fresh process: WP_INSTALLING must be off for plugins to load and install themselves.
if [ -n "$activate" ]; then
  WP_DIR=$dir WP_URL=$url WP_ACTIVATE=$activate php -d display_errors=stderr <<'PHP'
<?php
$_SERVER['HTTP_HOST'] = parse_url( getenv( 'WP_URL' ), PHP_URL_HOST );
require getenv( 'WP_DIR' ) . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/plugin.php';
wp_set_current_user( 1 );
foreach ( array_filter( explode( ',', getenv( 'WP_ACTIVATE' ) ) ) as $slug ) {
	$file = $slug . '/' . $slug . '.php';
	$result = activate_plugin( $file );
	if ( is_wp_error( $result ) ) {
		fwrite( STDERR, "activating $file: " . $result->get_error_message() . "\n" );
		exit( 1 );
	}
	// Plugins install themselves on the request after activation (WooCommerce: tables, pages, roles).
	do_action( 'activated_plugin', $file, false );
}
PHP
  if [[ ,$activate, == *,woocommerce,* ]]; then
    WP_DIR=$dir WP_URL=$url php -d display_errors=stderr <<'PHP'
<?php
$_SERVER['HTTP_HOST'] = parse_url( getenv( 'WP_URL' ), PHP_URL_HOST );
require getenv( 'WP_DIR' ) . '/wp-load.php';
WC_Install::install();
update_option( 'woocommerce_currency', 'EUR' );
update_option( 'woocommerce_default_country', 'DE' );
update_option( 'woocommerce_onboarding_profile', array( 'skipped' => true ) );
update_option( 'woocommerce_task_list_hidden', 'yes' );
flush_rewrite_rules();
PHP
  fi
fi

cat > "$dir/.install.env" <<ENV
WP_DIR=$dir
WP_URL=$url
WP_DB_NAME=$db
WP_DB_HOST=$db_host
WP_ADMIN_USER=admin
WP_ADMIN_PASSWORD=password
ENV
cat "$dir/.install.env"
