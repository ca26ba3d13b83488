<?php
/**
 * Router for PHP's built-in server: real files are served as they are, every other path goes to WordPress's
 * index.php, as Apache's rewrite rules would send it (pretty permalinks, /wp-json/, /wc-auth/v1/...).
 *
 * @package ClaimBridge\Tests
 */

$claimbridge_path = (string) parse_url( $_SERVER['REQUEST_URI'], PHP_URL_PATH );
$claimbridge_file = $_SERVER['DOCUMENT_ROOT'] . $claimbridge_path;
if ( '/' !== $claimbridge_path && file_exists( $claimbridge_file ) && ! is_dir( $claimbridge_file ) ) {
	return false;
}
if ( is_dir( $claimbridge_file ) && file_exists( rtrim( $claimbridge_file, '/' ) . '/index.php' ) && '/' !== $claimbridge_path ) {
	return false;
}
$_SERVER['SCRIPT_NAME']     = '/index.php';
$_SERVER['SCRIPT_FILENAME'] = $_SERVER['DOCUMENT_ROOT'] . '/index.php';
$_SERVER['PHP_SELF']        = '/index.php';
require $_SERVER['DOCUMENT_ROOT'] . '/index.php';
