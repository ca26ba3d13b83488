<?php
/**
 * Activation with and without WooCommerce.
 *
 * @package ClaimBridge\Tests
 */

declare(strict_types=1);

/**
 * Without WooCommerce the plugin only explains itself; with it every part is wired.
 */
class ActivationTest extends ClaimBridge_Test_Case {

	public function test_plugin_is_active_and_loaded(): void {
		$this->assertTrue( is_plugin_active( 'claimbridge/claimbridge.php' ) );
		$this->assertSame( '0.1.0', CLAIMBRIDGE_VERSION );
		$header = get_plugin_data( CLAIMBRIDGE_PLUGIN_FILE, false, false );
		$this->assertSame( 'claimbridge', $header['TextDomain'] );
		$this->assertSame( '7.4', $header['RequiresPHP'] );
		$this->assertStringContainsString( 'Requires Plugins:     woocommerce', (string) file_get_contents( CLAIMBRIDGE_PLUGIN_FILE ) );
	}

	public function test_behaviour_follows_whether_woocommerce_is_active(): void {
		$this->login( 'administrator' );
		$notice = has_action( 'admin_notices', array( 'ClaimBridge_Plugin', 'notice_woocommerce_missing' ) );
		ob_start();
		ClaimBridge_Plugin::notice_woocommerce_missing();
		$notices = (string) ob_get_clean();
		if ( 'woocommerce' === getenv( 'CLAIMBRIDGE_TEST_MODE' ) ) {
			$this->assertTrue( ClaimBridge_Plugin::woocommerce_active() );
			$this->assertNotNull( ClaimBridge_Plugin::instance() );
			$this->assertFalse( $notice );
			$this->assertNotFalse( has_filter( 'woocommerce_available_payment_gateways' ) );
			$this->assertArrayHasKey( '/wc-claimbridge/v1/status', rest_get_server()->get_routes() );
			$this->assertArrayHasKey( 'claimbridge_invoice', WC()->payment_gateways()->payment_gateways() );
			$features = Automattic\WooCommerce\Utilities\FeaturesUtil::get_compatible_plugins_for_feature( 'custom_order_tables' );
			$this->assertContains( 'claimbridge/claimbridge.php', $features['compatible'] );
		} else {
			$this->assertFalse( ClaimBridge_Plugin::woocommerce_active() );
			$this->assertNull( ClaimBridge_Plugin::instance() );
			$this->assertNotFalse( $notice );
			$this->assertStringContainsString( 'ClaimBridge needs WooCommerce', $notices );
			// Nothing else happens: no checkout filter, no routes.
			$this->assertFalse( has_filter( 'woocommerce_available_payment_gateways' ) );
			$this->assertArrayNotHasKey( '/wc-claimbridge/v1/status', rest_get_server()->get_routes() );
		}
	}

	public function test_missing_woocommerce_notice_is_only_for_those_who_can_act(): void {
		$this->login( 'subscriber' );
		ob_start();
		ClaimBridge_Plugin::notice_woocommerce_missing();
		$this->assertSame( '', ob_get_clean() );
	}
}
