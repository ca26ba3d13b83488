<?php
/**
 * Remove everything ClaimBridge stored: options, transients, locks, order meta (HPOS and posts storage).
 *
 * @package ClaimBridge
 */

declare(strict_types=1);

defined( 'WP_UNINSTALL_PLUGIN' ) || exit;

global $wpdb;

foreach ( array( 'claimbridge_settings', 'claimbridge_client_secret', 'claimbridge_admin_notices', 'woocommerce_claimbridge_invoice_settings', 'woocommerce_claimbridge_dunning_notice_settings' ) as $claimbridge_option ) {
	delete_option( $claimbridge_option );
}
// Transients (tokens, caches, flash messages) and idempotency locks, whatever their suffix.
// phpcs:disable WordPress.DB.DirectDatabaseQuery
$wpdb->query(
	$wpdb->prepare(
		"DELETE FROM {$wpdb->options} WHERE option_name LIKE %s OR option_name LIKE %s OR option_name LIKE %s",
		$wpdb->esc_like( 'claimbridge_' ) . '%',
		$wpdb->esc_like( '_transient_claimbridge_' ) . '%',
		$wpdb->esc_like( '_transient_timeout_claimbridge_' ) . '%'
	)
);
// Order meta: posts storage, and WooCommerce's order tables when they exist.
$wpdb->query( $wpdb->prepare( "DELETE FROM {$wpdb->postmeta} WHERE meta_key LIKE %s", $wpdb->esc_like( '_claimbridge_' ) . '%' ) );
$claimbridge_hpos_meta = $wpdb->prefix . 'wc_orders_meta';
if ( $wpdb->get_var( $wpdb->prepare( 'SHOW TABLES LIKE %s', $claimbridge_hpos_meta ) ) === $claimbridge_hpos_meta ) {
	$wpdb->query( $wpdb->prepare( "DELETE FROM {$claimbridge_hpos_meta} WHERE meta_key LIKE %s", $wpdb->esc_like( '_claimbridge_' ) . '%' ) ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared -- table name.
}
// phpcs:enable
