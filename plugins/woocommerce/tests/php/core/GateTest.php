<?php
/**
 * The checkout gate against the real ClaimBridge backend the runner started.
 *
 * @package ClaimBridge\Tests
 */

declare(strict_types=1);

/**
 * Decision, caching by the checkout's hash, the bureau only after the choice, and both fail modes.
 */
class GateTest extends ClaimBridge_Test_Case {

	const OFFERED = array( 'paypal', 'claimbridge_invoice', 'invoice', 'bacs' );

	private static function checkout( string $email, string $postcode = '10117', string $total = '89.90' ): ClaimBridge_Checkout_Snapshot {
		return new ClaimBridge_Checkout_Snapshot(
			array(
				'email'      => $email,
				'first_name' => 'Anna',
				'last_name'  => 'Schmidt',
				'is_guest'   => true,
			),
			array(
				'first_name'  => 'Anna',
				'last_name'   => 'Schmidt',
				'street'      => 'Unter den Linden 5',
				'postal_code' => $postcode,
				'city'        => 'Berlin',
				'country'     => 'DE',
			),
			null,
			$total,
			'EUR',
			array(
				array(
					'sku'        => 'MUG-1',
					'name'       => 'Tasse',
					'quantity'   => 1,
					'unit_price' => $total,
				),
			)
		);
	}

	private function gate( ClaimBridge_Settings $settings ): ClaimBridge_Risk_Gate {
		return new ClaimBridge_Risk_Gate( new ClaimBridge_Backend_Client( $settings ), $settings, new ClaimBridge_Decision_Store() );
	}

	public static function setUpBeforeClass(): void {
		[ $status ] = self::backend(
			'PUT',
			'/api/v1/buyer-overrides',
			array(
				'email' => 'never.pays@example.org',
				'mode'  => 'never_allow',
				'note'  => 'plugin tests',
			)
		);
		self::assertContains( $status, array( 200, 201 ) );
	}

	public function test_clean_buyer_keeps_invoice_and_gets_a_check_id(): void {
		$decision = $this->gate( $this->connect_to_backend() )->decide( self::checkout( 'anna.schmidt@web.de' ), self::OFFERED );
		$this->assertSame( array(), $decision->hidden );
		$this->assertContains( $decision->outcome, array( 'accept', 'review' ) );
		$this->assertNotEmpty( $decision->check_id );
		[ $status, $stored ] = self::backend( 'GET', '/api/v1/risk-checks/' . $decision->check_id );
		$this->assertSame( 200, $status );
		$this->assertSame( $decision->outcome, $stored['decision'] );
	}

	public function test_risky_buyer_loses_every_invoice_like_method_and_keeps_the_others(): void {
		$decision = $this->gate( $this->connect_to_backend() )->decide( self::checkout( 'never.pays@example.org' ), self::OFFERED );
		$this->assertSame( 'decline', $decision->outcome );
		$this->assertEqualsCanonicalizing( array( 'claimbridge_invoice', 'invoice' ), $decision->hidden );
		$this->assertFalse( $decision->hides( 'paypal' ) );
	}

	public function test_the_backends_policy_decides_which_gateways_are_invoice_like(): void {
		// run-tests.sh gave the merchant's policy the cheque gateway, which the plugin never counted on its own.
		$gate     = $this->gate( $this->connect_to_backend() );
		$decision = $gate->decide( self::checkout( 'never.pays@example.org' ), array_merge( self::OFFERED, array( 'cheque' ) ) );
		$this->assertSame( 'decline', $decision->outcome );
		$this->assertEqualsCanonicalizing( array( 'cheque', 'claimbridge_invoice', 'invoice' ), $decision->hidden );
		$this->assertFalse( $decision->hides( 'bacs' ) );
		$this->assertCount( 1, $this->requests_to( '/api/v1/checkout-settings' ) );
	}

	public function test_before_the_choice_the_backend_is_told_nothing_was_chosen(): void {
		$gate = $this->gate( $this->connect_to_backend() );
		$gate->decide( self::checkout( 'anna.schmidt@web.de' ), self::OFFERED );
		$gate->decide( self::checkout( 'anna.schmidt@web.de' ), self::OFFERED, 'paypal' );
		$checks = $this->requests_to( '/api/v1/risk-checks' );
		$this->assertCount( 1, $checks, 'choosing a method without credit risk changes nothing' );
		$this->assertNull( $checks[0][2]['selected_payment_method'] );
		$this->assertSame( self::OFFERED, $checks[0][2]['payment_methods'] );

		$chosen = $gate->decide( self::checkout( 'anna.schmidt@web.de' ), self::OFFERED, 'claimbridge_invoice' );
		$checks = $this->requests_to( '/api/v1/risk-checks' );
		$this->assertCount( 2, $checks );
		$this->assertSame( 'claimbridge_invoice', $checks[1][2]['selected_payment_method'] );
		$this->assertTrue( $chosen->chosen );
	}

	public function test_decision_is_cached_until_address_or_total_changes(): void {
		$gate = $this->gate( $this->connect_to_backend() );
		$first = $gate->decide( self::checkout( 'anna.schmidt@web.de' ), self::OFFERED );
		$again = $gate->decide( self::checkout( 'Anna.Schmidt@web.de ' ), self::OFFERED );
		$this->assertSame( $first->check_id, $again->check_id );
		$this->assertCount( 1, $this->requests_to( '/api/v1/risk-checks' ) );

		$gate->decide( self::checkout( 'anna.schmidt@web.de', '20457' ), self::OFFERED );
		$gate->decide( self::checkout( 'anna.schmidt@web.de', '20457', '120.00' ), self::OFFERED );
		$this->assertCount( 3, $this->requests_to( '/api/v1/risk-checks' ) );
		$this->assertCount( 1, $this->requests_to( '/oauth/token' ), 'the token is reused' );
	}

	public function test_no_backend_call_without_invoice_like_methods_or_country(): void {
		$gate = $this->gate( $this->connect_to_backend() );
		$this->assertSame( array(), $gate->decide( self::checkout( 'never.pays@example.org' ), array( 'paypal', 'bacs' ) )->hidden );
		$no_country = new ClaimBridge_Checkout_Snapshot( array( 'email' => 'x@example.org' ), array( 'country' => '' ), null, '10.00', 'EUR' );
		$this->assertSame( array(), $gate->decide( $no_country, self::OFFERED )->hidden );
		$this->assertCount( 0, $this->requests_to( '/api/v1/risk-checks' ) );
	}

	public function test_fail_mode_hide_hides_invoice_when_the_backend_is_unreachable(): void {
		$settings = $this->connect_to_backend( array( 'url' => 'http://127.0.0.1:9' ) );
		$gate     = $this->gate( $settings );
		$decision = $gate->decide( self::checkout( 'anna.schmidt@web.de' ), self::OFFERED );
		$this->assertSame( 'unavailable', $decision->outcome );
		$this->assertEqualsCanonicalizing( array( 'claimbridge_invoice', 'invoice' ), $decision->hidden );
		$gate->decide( self::checkout( 'anna.schmidt@web.de' ), self::OFFERED );
		$this->assertCount( 1, $this->requests_to( '/oauth/token' ), 'a failure is kept a minute, not retried on every cart refresh' );
	}

	public function test_fail_mode_show_keeps_invoice_when_the_backend_refuses_the_client(): void {
		$settings = $this->connect_to_backend(
			array(
				'client_secret' => 'wrong-secret',
				'fail_mode'     => ClaimBridge_Settings::FAIL_SHOW,
			)
		);
		$decision = $this->gate( $settings )->decide( self::checkout( 'never.pays@example.org' ), self::OFFERED );
		$this->assertSame( 'unavailable', $decision->outcome );
		$this->assertSame( array(), $decision->hidden );
	}

	public function test_unconfigured_plugin_applies_the_fail_mode_without_calling_out(): void {
		$settings = new ClaimBridge_Settings();
		$decision = $this->gate( $settings )->decide( self::checkout( 'anna.schmidt@web.de' ), self::OFFERED );
		$this->assertEqualsCanonicalizing( array( 'claimbridge_invoice', 'invoice' ), $decision->hidden );
		$this->assertSame( array(), $this->backend_requests );
	}
}
