<?php
/**
 * The settings page shows the backend's invoice-like gateways and buyer message, read-only, inside real
 * WooCommerce with its real gateways.
 *
 * @package ClaimBridge\Tests
 */

declare(strict_types=1);

/**
 * WooCommerce → Settings → ClaimBridge, section "Invoice payment".
 */
class BackendSettingsTest extends ClaimBridge_Test_Case {

	private function page(): string {
		$settings = $this->connect_to_backend();
		$backend  = new ClaimBridge_Backend_Client( $settings );
		ob_start();
		( new ClaimBridge_Settings_Page( $settings, $backend ) )->render();
		return (string) ob_get_clean();
	}

	public function test_the_shops_gateways_are_shown_with_the_policys_selected_and_cannot_be_posted(): void {
		$this->login( 'administrator' );
		$html = $this->page();
		$this->assertSame( 1, preg_match( '~<select id="claimbridge_invoice_gateways" multiple disabled[^>]*>(.*?)</select>~s', $html, $select ) );
		preg_match_all( '~<option value="([^"]+)"( selected=\'selected\')?~', $select[1], $options, PREG_SET_ORDER );
		$shown = array();
		foreach ( $options as $option ) {
			$shown[ $option[1] ] = ! empty( $option[2] );
		}
		$this->assertSame( array_keys( WC()->payment_gateways()->payment_gateways() ), array_keys( $shown ) );
		[ , $served ] = self::backend( 'GET', '/api/v1/checkout-settings' );
		$this->assertSame( array_values( array_intersect( array_keys( $shown ), $served['invoice_methods'] ) ), array_keys( array_filter( $shown ) ) );
		$this->assertTrue( $shown['cheque'], 'run-tests.sh put cheque into the policy' );
		$this->assertFalse( $shown['bacs'] );
		$this->assertStringNotContainsString( 'name="claimbridge[invoice_gateways]', $html );
		$this->assertStringNotContainsString( 'name="claimbridge[buyer_message]', $html );
		$this->assertStringContainsString( '<p class="claimbridge-buyer-message">' . esc_html( $served['invoice_unavailable_message']['en'] ) . '</p>', $html );
		$this->assertStringContainsString( 'href="' . esc_url( admin_url( 'admin.php?page=claimbridge-collection&claimbridge-open=settings' ) ) . '"', $html );
	}

	public function test_the_collection_link_opens_the_consoles_settings(): void {
		$this->login( 'administrator' );
		$this->connect_to_backend();
		$_GET['claimbridge-open'] = 'settings';
		ob_start();
		( new ClaimBridge_Admin( new ClaimBridge_Settings(), new ClaimBridge_Backend_Client( new ClaimBridge_Settings() ) ) )->render_collection_page();
		$html = (string) ob_get_clean();
		$this->assertSame( 1, preg_match( '~<iframe class="claimbridge-console" src="([^"]+)"~', $html, $frame ) );
		$entered = wp_remote_get( html_entity_decode( $frame[1] ), array( 'redirection' => 0 ) );
		$this->assertSame( 303, wp_remote_retrieve_response_code( $entered ) );
		$location = (string) wp_remote_retrieve_header( $entered, 'location' );
		$this->assertSame( '/console/settings', wp_parse_url( $location, PHP_URL_PATH ) );
		$this->assertSame( 'section-policy', wp_parse_url( $location, PHP_URL_FRAGMENT ) );
	}
}
