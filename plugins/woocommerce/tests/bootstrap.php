<?php
/**
 * Load the throwaway WordPress install named by WP_DIR (see bin/run-tests.sh), with the plugin active.
 *
 * @package ClaimBridge\Tests
 */

declare(strict_types=1);

$claimbridge_wp_dir = getenv( 'WP_DIR' );
if ( ! $claimbridge_wp_dir || ! file_exists( $claimbridge_wp_dir . '/wp-load.php' ) ) {
	fwrite( STDERR, "WP_DIR must name a WordPress install made by tests/bin/install-wp.sh (run tests/bin/run-tests.sh)\n" );
	exit( 1 );
}
$_SERVER['HTTP_HOST']   = (string) parse_url( (string) getenv( 'WP_URL' ) ?: 'http://127.0.0.1', PHP_URL_HOST );
$_SERVER['SERVER_NAME'] = $_SERVER['HTTP_HOST'];
$_SERVER['REQUEST_URI'] = '/';
require $claimbridge_wp_dir . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/plugin.php';
// WordPress 6.1's own PHP 8.2 deprecations would drown the output; PHPUnit still turns notices and
// warnings into failures through its error handler.
ini_set( 'display_errors', '0' ); // phpcs:ignore WordPress.PHP.IniSet.display_errors_Disallowed
require_once __DIR__ . '/php/class-claimbridge-test-case.php';
require_once __DIR__ . '/php/class-claimbridge-memory-orders.php';
require_once __DIR__ . '/php/class-claimbridge-rest-test-case.php';
require_once __DIR__ . '/php/class-claimbridge-shop-client.php';
