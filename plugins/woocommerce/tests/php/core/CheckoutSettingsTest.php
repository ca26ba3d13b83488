<?php
/**
 * The merchant's checkout settings read from the real backend: cached, in the buyer's language, with the
 * backend's defaults while it cannot be asked.
 *
 * @package ClaimBridge\Tests
 */

declare(strict_types=1);

/**
 * ClaimBridge_Checkout_Settings against GET /api/v1/checkout-settings.
 */
class CheckoutSettingsTest extends ClaimBridge_Test_Case {

	private function reader( ClaimBridge_Settings $settings ): ClaimBridge_Checkout_Settings {
		return new ClaimBridge_Checkout_Settings( new ClaimBridge_Backend_Client( $settings ) );
	}

	public function test_reads_the_backends_values_once_and_keeps_them(): void {
		[ , $served ] = self::backend( 'GET', '/api/v1/checkout-settings' );
		$reader       = $this->reader( $this->connect_to_backend() );
		$this->assertTrue( $reader->is_known() );
		$this->assertSame( $served['invoice_methods'], $reader->invoice_gateways() );
		$this->assertSame( $served['payment_terms_days'], $reader->payment_terms_days() );
		$this->assertSame( $served['invoice_unavailable_message']['en'], $reader->buyer_message() );
		$this->assertContains( 'cheque', $reader->invoice_gateways(), 'run-tests.sh put cheque into the policy' );
		$this->assertCount( 2, $this->requests_to( '/api/v1/checkout-settings' ), 'the test asked once, the plugin once' );
		$this->reader( new ClaimBridge_Settings() )->invoice_gateways();
		$this->assertCount( 2, $this->requests_to( '/api/v1/checkout-settings' ), 'cached for the same backend and client' );
	}

	public function test_the_buyer_reads_the_backends_message_in_german_on_a_german_site(): void {
		[ , $served ] = self::backend( 'GET', '/api/v1/checkout-settings' );
		$reader       = $this->reader( $this->connect_to_backend() );
		$german       = static function () {
			return 'de_DE';
		};
		add_filter( 'pre_determine_locale', $german );
		try {
			$this->assertSame( $served['invoice_unavailable_message']['de'], $reader->buyer_message() );
			$this->assertStringStartsWith( 'Kauf auf Rechnung ist', $reader->buyer_message() );
		} finally {
			remove_filter( 'pre_determine_locale', $german );
		}
	}

	public function test_while_the_backend_refuses_its_defaults_stand_in_for_a_minute(): void {
		$reader = $this->reader( $this->connect_to_backend( array( 'client_secret' => 'wrong-secret' ) ) );
		$this->assertFalse( $reader->is_known() );
		$this->assertSame( ClaimBridge_Checkout_Settings::DEFAULT_INVOICE_GATEWAYS, $reader->invoice_gateways() );
		$this->assertSame( 14, $reader->payment_terms_days() );
		$this->assertSame( 'Payment by invoice is not available for this order. Please choose another payment method.', $reader->buyer_message() );
		$this->assertCount( 1, $this->requests_to( '/oauth/token' ), 'the failure is kept, not retried on every call' );
		$this->assertCount( 0, $this->requests_to( '/api/v1/checkout-settings' ) );
	}
}
