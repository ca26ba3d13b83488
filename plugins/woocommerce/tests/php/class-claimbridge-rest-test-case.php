<?php
/**
 * Calls the wc-claimbridge/v1 routes through WordPress's REST server.
 *
 * @package ClaimBridge\Tests
 */

declare(strict_types=1);

/**
 * A REST server holding only core's routes and a ClaimBridge controller built on the given seam.
 */
abstract class ClaimBridge_Rest_Test_Case extends ClaimBridge_Test_Case {

	/**
	 * Saved rest_api_init callbacks.
	 *
	 * @var mixed
	 */
	private $saved_init;

	/**
	 * Serve the routes of a controller built on $orders.
	 *
	 * @param ClaimBridge_Woo_Orders $orders Seam.
	 */
	protected function serve( ClaimBridge_Woo_Orders $orders ): void {
		global $wp_filter, $wp_rest_server;
		$this->saved_init = $wp_filter['rest_api_init'] ?? null;
		unset( $wp_filter['rest_api_init'] );
		$controller = new ClaimBridge_Rest_Controller( $orders, new ClaimBridge_Admin_Notices() );
		add_action( 'rest_api_init', array( $controller, 'register_routes' ) );
		$wp_rest_server = null;
		rest_get_server();
	}

	protected function tearDown(): void {
		global $wp_filter, $wp_rest_server;
		if ( null !== $this->saved_init ) {
			$wp_filter['rest_api_init'] = $this->saved_init;
		}
		$wp_rest_server = null;
		parent::tearDown();
	}

	/**
	 * Dispatch one request.
	 *
	 * @param string $method HTTP method.
	 * @param string $route  Route below wc-claimbridge/v1.
	 * @param array  $body   JSON body.
	 */
	protected function call( string $method, string $route, array $body = array() ): WP_REST_Response {
		$request = new WP_REST_Request( $method, '/wc-claimbridge/v1/' . $route );
		if ( $body ) {
			$request->set_header( 'Content-Type', 'application/json' );
			$request->set_body( (string) wp_json_encode( $body ) );
		}
		return rest_get_server()->dispatch( $request );
	}

	/**
	 * A dunning notice as the backend sends it.
	 *
	 * @param array $overrides Fields to change.
	 */
	protected static function dunning_notice( array $overrides = array() ): array {
		return array_merge(
			array(
				'notice_id'         => 'notice-' . wp_generate_password( 8, false ),
				'order_id'          => 42,
				'stage'             => 'reminder',
				'language'          => 'de',
				'recipient'         => array(
					'email' => 'anna.schmidt@example.org',
					'name'  => 'Anna Schmidt',
				),
				'subject'           => 'Zahlungserinnerung zu Bestellung 42',
				'text'              => "Guten Tag Anna Schmidt,\nbitte überweisen Sie 12,34 EUR bis 20.12.2026.",
				'html'              => '<p>Guten Tag Anna Schmidt,</p><p>bitte überweisen Sie <strong>12,34 EUR</strong> bis 20.12.2026.</p>',
				'amounts'           => array(
					'principal' => '12.34',
					'fees'      => '0.00',
					'interest'  => '0.00',
					'total'     => '12.34',
					'currency'  => 'EUR',
				),
				'deadline'          => '2026-12-20',
				'payment_reference' => 'CB-7K4Q-2',
				'creditor'          => array(
					'name' => 'Demo Shop GmbH',
					'iban' => 'DE89370400440532013000',
					'bic'  => 'COBADEFFXXX',
				),
				'girocode'          => "BCD\n002\n1\nSCT\nCOBADEFFXXX\nDemo Shop GmbH\nDE89370400440532013000\nEUR12.34\n\n\nCB-7K4Q-2",
			),
			$overrides
		);
	}
}
