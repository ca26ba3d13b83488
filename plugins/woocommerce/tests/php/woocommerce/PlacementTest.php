<?php
/**
 * A real shop over HTTP: the block checkout (Store API) and the classic checkout hide "Kauf auf Rechnung"
 * from a risky buyer and refuse a forged placement with it; a clean buyer keeps it and places the order.
 *
 * @package ClaimBridge\Tests
 */

declare(strict_types=1);

/**
 * Runs against the shop bin/run-tests.sh serves (so it commits its setup and removes it afterwards).
 */
class PlacementTest extends ClaimBridge_Test_Case {

	/**
	 * HTTP tests see only committed data.
	 *
	 * @var bool
	 */
	protected $transactional = false;

	/**
	 * Product on sale.
	 *
	 * @var int
	 */
	private static $product_id = 0;

	public static function setUpBeforeClass(): void {
		parent::setUpBeforeClass();
		$product = new WC_Product_Simple();
		$product->set_name( 'Espressotasse' );
		$product->set_regular_price( '24.90' );
		$product->set_virtual( true );
		$product->save();
		self::$product_id = $product->get_id();
		update_option(
			'woocommerce_claimbridge_invoice_settings',
			array(
				'enabled' => 'yes',
				'title'   => 'Kauf auf Rechnung',
			)
		);
		update_option( 'woocommerce_cod_settings', array( 'enabled' => 'yes' ) );
		( new ClaimBridge_Settings() )->save(
			array(
				'url'           => (string) getenv( 'CLAIMBRIDGE_TEST_BACKEND_URL' ),
				'client_id'     => (string) getenv( 'CLAIMBRIDGE_TEST_CLIENT_ID' ),
				'client_secret' => (string) getenv( 'CLAIMBRIDGE_TEST_CLIENT_SECRET' ),
			)
		);
		self::backend(
			'PUT',
			'/api/v1/buyer-overrides',
			array(
				'email' => 'never.pays@example.org',
				'mode'  => 'never_allow',
			)
		);
	}

	public static function tearDownAfterClass(): void {
		wp_delete_post( self::$product_id, true );
		delete_option( 'woocommerce_claimbridge_invoice_settings' );
		delete_option( 'woocommerce_cod_settings' );
		delete_option( ClaimBridge_Settings::OPTION );
		delete_option( ClaimBridge_Settings::SECRET_OPTION );
		parent::tearDownAfterClass();
	}

	private static function address( string $email ): array {
		return array(
			'first_name' => 'Anna',
			'last_name'  => 'Schmidt',
			'company'    => '',
			'address_1'  => 'Unter den Linden 5',
			'address_2'  => '',
			'city'       => 'Berlin',
			'state'      => '',
			'postcode'   => '10117',
			'country'    => 'DE',
			'email'      => $email,
			'phone'      => '+49 30 1234567',
		);
	}

	private function cart_for( string $email ): array {
		$shop = new ClaimBridge_Shop_Client();
		[ $status ] = $shop->store( 'GET', 'cart' );
		$this->assertSame( 200, $status );
		[ $status ] = $shop->store(
			'POST',
			'cart/add-item',
			array(
				'id'       => self::$product_id,
				'quantity' => 1,
			)
		);
		$this->assertSame( 201, $status );
		$address = self::address( $email );
		[ $status, $cart ] = $shop->store(
			'POST',
			'cart/update-customer',
			array(
				'billing_address'  => $address,
				'shipping_address' => array_diff_key( $address, array( 'email' => 1 ) ),
			)
		);
		$this->assertSame( 200, $status, wp_json_encode( $cart ) );
		return array( $shop, $cart );
	}

	private static function checkout_body( string $email, string $method ): array {
		$address = self::address( $email );
		return array(
			'billing_address'  => $address,
			'shipping_address' => array_diff_key( $address, array( 'email' => 1 ) ),
			'payment_method'   => $method,
		);
	}

	public function test_store_api_hides_invoice_from_a_risky_buyer_and_refuses_a_forged_checkout(): void {
		[ $shop, $cart ] = $this->cart_for( 'never.pays@example.org' );
		$this->assertContains( 'claimbridge_invoice', $cart['extensions']['claimbridge']['hidden_payment_methods'] );
		$this->assertNotContains( 'claimbridge_invoice', $cart['payment_methods'] );
		$this->assertContains( 'cod', $cart['payment_methods'], 'every other method stays' );

		[ $status, $error ] = $shop->store( 'POST', 'checkout', self::checkout_body( 'never.pays@example.org', 'claimbridge_invoice' ) );
		$this->assertSame( 400, $status, wp_json_encode( $error ) );
		$this->assertSame( 'claimbridge_payment_method_not_available', $error['code'] );
		[ , $served ] = self::backend( 'GET', '/api/v1/checkout-settings' );
		$this->assertSame( esc_html( $served['invoice_unavailable_message']['en'] ), $error['message'], 'the backend\'s words' );

		[ $status, $order ] = $shop->store( 'POST', 'checkout', self::checkout_body( 'never.pays@example.org', 'cod' ) );
		$this->assertSame( 200, $status, wp_json_encode( $order ) );
	}

	public function test_store_api_clean_buyer_pays_by_invoice_and_the_order_keeps_the_check_id(): void {
		[ $shop, $cart ] = $this->cart_for( 'anna.schmidt@web.de' );
		$this->assertSame( array(), $cart['extensions']['claimbridge']['hidden_payment_methods'] );
		$this->assertContains( 'claimbridge_invoice', $cart['payment_methods'] );

		[ $status, $result ] = $shop->store( 'POST', 'checkout', self::checkout_body( 'anna.schmidt@web.de', 'claimbridge_invoice' ) );
		$this->assertSame( 200, $status, wp_json_encode( $result ) );
		wp_cache_flush();
		$order = wc_get_order( $result['order_id'] );
		$this->assertSame( 'on-hold', $order->get_status() );
		$check_id = (string) $order->get_meta( ClaimBridge_Checkout::ORDER_META_CHECK_ID );
		$this->assertNotSame( '', $check_id );
		[ $found, $check ] = self::backend( 'GET', '/api/v1/risk-checks/' . $check_id );
		$this->assertSame( 200, $found );
		$this->assertSame( 'claimbridge_invoice', $order->get_payment_method() );
		$this->assertContains( $check['decision'], array( 'accept', 'review' ) );
	}

	public function test_classic_checkout_refuses_a_hidden_method_and_accepts_a_clean_buyer(): void {
		foreach ( array(
			'never.pays@example.org' => 'failure',
			'anna.schmidt@web.de'    => 'success',
		) as $email => $expected ) {
			[ $shop ] = $this->cart_for( $email );
			$html     = $shop->page( '/checkout/' );
			$this->assertMatchesRegularExpression( '/name="woocommerce-process-checkout-nonce" value="([^"]+)"/', $html );
			preg_match( '/name="woocommerce-process-checkout-nonce" value="([^"]+)"/', $html, $nonce );
			$fields = array(
				'payment_method'                     => 'claimbridge_invoice',
				'woocommerce-process-checkout-nonce' => $nonce[1],
				'_wp_http_referer'                   => '/checkout/',
			);
			foreach ( self::address( $email ) as $key => $value ) {
				$fields[ 'billing_' . $key ] = $value;
			}
			[ $status, $result ] = $shop->form( '/?wc-ajax=checkout', $fields );
			$this->assertSame( 200, $status );
			$this->assertIsArray( $result, 'wc-ajax=checkout answers JSON' );
			$this->assertSame( $expected, $result['result'], wp_json_encode( $result ) );
			if ( 'failure' === $expected ) {
				// The backend's words, the same Shopware shows.
				[ , $served ] = self::backend( 'GET', '/api/v1/checkout-settings' );
				$this->assertStringContainsString( esc_html( $served['invoice_unavailable_message']['en'] ), $result['messages'] );
			}
		}
	}
}
