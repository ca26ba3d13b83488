<?php
/**
 * Base test case: each test in a database transaction rolled back afterwards, helpers for users, settings
 * and the real backend the runner started.
 *
 * @package ClaimBridge\Tests
 */

declare(strict_types=1);

use PHPUnit\Framework\TestCase;

/**
 * Shared helpers.
 */
abstract class ClaimBridge_Test_Case extends TestCase {

	/**
	 * Requests sent to the backend during the test: [method, url, body].
	 *
	 * @var array[]
	 */
	protected $backend_requests = array();

	/**
	 * Whether this test runs inside a transaction (HTTP tests against the served shop must commit).
	 *
	 * @var bool
	 */
	protected $transactional = true;

	/**
	 * Start the transaction and record backend requests.
	 */
	protected function setUp(): void {
		global $wpdb;
		parent::setUp();
		if ( $this->transactional ) {
			$wpdb->query( 'SET autocommit = 0' );
			$wpdb->query( 'START TRANSACTION' );
		}
		wp_cache_flush();
		add_action( 'http_api_debug', array( $this, 'record_request' ), 10, 5 );
	}

	/**
	 * Roll back and forget filters the test added.
	 */
	protected function tearDown(): void {
		global $wpdb;
		remove_action( 'http_api_debug', array( $this, 'record_request' ), 10 );
		wp_set_current_user( 0 );
		$_POST = array();
		$_GET  = array();
		if ( $this->transactional ) {
			$wpdb->query( 'ROLLBACK' );
			$wpdb->query( 'SET autocommit = 1' );
		}
		wp_cache_flush();
		parent::tearDown();
	}

	/**
	 * Record one outgoing HTTP request (http_api_debug).
	 *
	 * @param mixed  $response Response.
	 * @param string $context  Context.
	 * @param string $class    Transport class.
	 * @param array  $args     Request arguments.
	 * @param string $url      URL.
	 */
	public function record_request( $response, $context, $class, $args, $url ): void {
		$this->backend_requests[] = array( $args['method'] ?? 'GET', $url, isset( $args['body'] ) && is_string( $args['body'] ) ? json_decode( $args['body'], true ) : null );
	}

	/**
	 * The recorded requests whose URL path ends with $path.
	 *
	 * @param string $path Path such as /api/v1/risk-checks.
	 * @return array[]
	 */
	protected function requests_to( string $path ): array {
		return array_values(
			array_filter(
				$this->backend_requests,
				static function ( $request ) use ( $path ) {
					return (string) wp_parse_url( $request[1], PHP_URL_PATH ) === $path;
				}
			)
		);
	}

	/**
	 * Log in a new user with a role; shop managers get manage_woocommerce even without WooCommerce.
	 *
	 * @param string $role Role name.
	 */
	protected function login( string $role ): WP_User {
		$id   = wp_insert_user(
			array(
				'user_login' => $role . '_' . wp_generate_password( 6, false ),
				'user_pass'  => wp_generate_password(),
				'role'       => $role,
			)
		);
		$user = new WP_User( $id );
		if ( 'administrator' === $role ) {
			$user->add_cap( 'manage_woocommerce' );
		}
		wp_set_current_user( $id );
		return $user;
	}

	/**
	 * Settings pointing at the backend the runner started, with the demo client.
	 *
	 * @param array $overrides Stored values to change.
	 */
	protected function connect_to_backend( array $overrides = array() ): ClaimBridge_Settings {
		$settings = new ClaimBridge_Settings();
		$settings->save(
			array_merge(
				array(
					'url'           => (string) getenv( 'CLAIMBRIDGE_TEST_BACKEND_URL' ),
					'client_id'     => (string) getenv( 'CLAIMBRIDGE_TEST_CLIENT_ID' ),
					'client_secret' => (string) getenv( 'CLAIMBRIDGE_TEST_CLIENT_SECRET' ),
				),
				$overrides
			)
		);
		return $settings;
	}

	/**
	 * Call the backend directly (test setup such as buyer overrides), with the demo client's token.
	 *
	 * @param string $method HTTP method.
	 * @param string $path   Path.
	 * @param array  $body   JSON body.
	 * @return array{0:int, 1:mixed}
	 */
	protected static function backend( string $method, string $path, array $body = array() ): array {
		$base  = (string) getenv( 'CLAIMBRIDGE_TEST_BACKEND_URL' );
		$token = wp_remote_post(
			$base . '/oauth/token',
			array(
				'body'    => array(
					'grant_type'    => 'client_credentials',
					'client_id'     => getenv( 'CLAIMBRIDGE_TEST_CLIENT_ID' ),
					'client_secret' => getenv( 'CLAIMBRIDGE_TEST_CLIENT_SECRET' ),
				),
				'timeout' => 10,
			)
		);
		$token = json_decode( wp_remote_retrieve_body( $token ), true )['access_token'];
		$args  = array(
			'method'  => $method,
			'timeout' => 10,
			'headers' => array(
				'Authorization' => 'Bearer ' . $token,
				'Content-Type'  => 'application/json',
			),
		);
		if ( $body ) {
			$args['body'] = wp_json_encode( $body );
		}
		$response = wp_remote_request( $base . $path, $args );
		return array( (int) wp_remote_retrieve_response_code( $response ), json_decode( wp_remote_retrieve_body( $response ), true ) );
	}
}
