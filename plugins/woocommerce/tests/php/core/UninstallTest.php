<?php
/**
 * Uninstalling leaves nothing behind.
 *
 * @package ClaimBridge\Tests
 */

declare(strict_types=1);

/**
 * Runs uninstall.php on a site that used the plugin.
 */
class UninstallTest extends ClaimBridge_Test_Case {

	/**
	 * @runInSeparateProcess
	 * @preserveGlobalState disabled
	 */
	public function test_uninstall_removes_options_transients_locks_and_order_meta(): void {
		global $wpdb;
		$settings = $this->connect_to_backend();
		( new ClaimBridge_Admin_Notices() )->add( 'Webhook disabled', 'warning' );
		set_transient( 'claimbridge_token_abc', 'token', 600 );
		add_option( 'claimbridge_lock_dunning_x', time(), '', false );
		update_option( 'woocommerce_claimbridge_invoice_settings', array( 'enabled' => 'yes' ) );
		$post_id = wp_insert_post(
			array(
				'post_title' => 'order stand-in',
				'post_type'  => 'post',
			)
		);
		add_post_meta( $post_id, '_claimbridge_risk_check_id', 'abc' );
		add_post_meta( $post_id, '_unrelated', 'stays' );
		$this->assertNotSame( '', $settings->client_secret() );

		define( 'WP_UNINSTALL_PLUGIN', 'claimbridge/claimbridge.php' );
		include CLAIMBRIDGE_PLUGIN_DIR . 'uninstall.php';
		wp_cache_flush();

		$left = $wpdb->get_col( "SELECT option_name FROM {$wpdb->options} WHERE option_name LIKE '%claimbridge%'" );
		$this->assertSame( array(), $left );
		$this->assertSame( '0', (string) $wpdb->get_var( "SELECT COUNT(*) FROM {$wpdb->postmeta} WHERE meta_key LIKE '\\_claimbridge\\_%'" ) );
		$this->assertSame( 'stays', get_post_meta( $post_id, '_unrelated', true ) );
	}
}
