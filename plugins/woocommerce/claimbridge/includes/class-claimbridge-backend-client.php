<?php
/**
 * The ClaimBridge backend's API as the plugin uses it.
 *
 * @package ClaimBridge
 */

declare(strict_types=1);

defined( 'ABSPATH' ) || exit;

/**
 * Small client: OAuth2 client-credentials token cached until 30 s before expiry and renewed once on 401,
 * one method per remote call, explicit timeouts, typed failures.
 */
class ClaimBridge_Backend_Client {

	const RISK_CHECK_TIMEOUT = 2.0;
	const ADMIN_TIMEOUT      = 10.0;

	/**
	 * Where the backend is and who we are.
	 *
	 * @var ClaimBridge_Settings
	 */
	private $settings;

	/**
	 * Build the client.
	 *
	 * @param ClaimBridge_Settings $settings Settings with URL and credentials.
	 */
	public function __construct( ClaimBridge_Settings $settings ) {
		$this->settings = $settings;
	}

	/**
	 * Ask for a checkout decision (POST /api/v1/risk-checks) within the checkout's 2 s budget.
	 *
	 * @param array  $payload  Risk check request.
	 * @param string $language Language of the reasons (de or en).
	 * @return array The decision.
	 * @throws ClaimBridge_Backend_Exception When no decision arrived.
	 */
	public function create_risk_check( array $payload, string $language ): array {
		$started = microtime( true );
		$token   = $this->token( self::RISK_CHECK_TIMEOUT );
		$left    = max( 0.2, self::RISK_CHECK_TIMEOUT - ( microtime( true ) - $started ) );
		return $this->call( 'POST', '/api/v1/risk-checks', $payload, $left, array( 'Accept-Language' => $language ), $token );
	}

	/**
	 * Mint a one-time console link for the merchant's user (POST /api/v1/console-sessions).
	 *
	 * @param string $user_name Name of the WordPress user, recorded with every decision.
	 * @param string $locale    Locale such as de-DE.
	 * @return array {url, expires_at}.
	 * @throws ClaimBridge_Backend_Exception When the backend refused.
	 */
	public function create_console_session( string $user_name, string $locale ): array {
		return $this->call(
			'POST',
			'/api/v1/console-sessions',
			array(
				'user' => array(
					'name'   => $user_name,
					'locale' => $locale,
				),
			)
		);
	}

	/**
	 * Start connecting this shop (POST /api/v1/woocommerce/connect-sessions).
	 *
	 * @param string $shop_url The shop's home URL.
	 * @return array {state, callback_url, expires_at}.
	 * @throws ClaimBridge_Backend_Exception When the backend refused.
	 */
	public function create_connect_session( string $shop_url ): array {
		return $this->call( 'POST', '/api/v1/woocommerce/connect-sessions', array( 'shop_url' => $shop_url ) );
	}

	/**
	 * The merchant's payment term, invoice-like methods and buyer message (GET /api/v1/checkout-settings),
	 * within the checkout's 2 s budget.
	 *
	 * @return array{payment_terms_days: int, invoice_methods: string[], invoice_unavailable_message: array}
	 * @throws ClaimBridge_Backend_Exception When the backend refused.
	 */
	public function get_checkout_settings(): array {
		return $this->call( 'GET', '/api/v1/checkout-settings', null, self::RISK_CHECK_TIMEOUT );
	}

	/**
	 * The EPC QR code ("GiroCode") for paying $amount to the merchant quoting $reference (POST /api/v1/girocodes).
	 *
	 * @param string $amount    Amount in euros, two decimals.
	 * @param string $reference Payment reference.
	 * @return array{payload: string, png: string, account: array} The payload, the code as a base64 PNG and the account.
	 * @throws ClaimBridge_Backend_Exception When the backend refused (e.g. no account set yet).
	 */
	public function create_girocode( string $amount, string $reference ): array {
		return $this->call( 'POST', '/api/v1/girocodes', array( 'amount' => $amount, 'reference' => $reference ), self::RISK_CHECK_TIMEOUT );
	}

	/**
	 * The merchant's shop connections (GET /api/v1/connections).
	 *
	 * @return array[]
	 * @throws ClaimBridge_Backend_Exception When the backend refused.
	 */
	public function list_connections(): array {
		return $this->call( 'GET', '/api/v1/connections' );
	}

	/**
	 * Proposals waiting and counts by status (GET /api/v1/handovers/summary).
	 *
	 * @return array
	 * @throws ClaimBridge_Backend_Exception When the backend refused.
	 */
	public function handover_summary(): array {
		return $this->call( 'GET', '/api/v1/handovers/summary' );
	}

	/**
	 * The receivables of an order number (GET /api/v1/receivables?number=).
	 *
	 * @param string $number The order number.
	 * @return array[]
	 * @throws ClaimBridge_Backend_Exception When the backend refused.
	 */
	public function receivables_by_number( string $number ): array {
		$page = $this->call( 'GET', '/api/v1/receivables?' . http_build_query( array( 'number' => $number ) ) );
		return isset( $page['items'] ) && is_array( $page['items'] ) ? $page['items'] : array();
	}

	/**
	 * Propose one receivable for handover to collection (POST /api/v1/receivables/{id}/handover-proposal).
	 *
	 * @param int    $receivable_id Receivable id.
	 * @param string $by            Name of the acting user.
	 * @return array The handover.
	 * @throws ClaimBridge_Backend_Exception When the backend refused (e.g. not ready for collection).
	 */
	public function propose_handover( int $receivable_id, string $by ): array {
		return $this->call( 'POST', '/api/v1/receivables/' . $receivable_id . '/handover-proposal', array( 'by' => $by ) );
	}

	/**
	 * Forget the cached token (after a credentials change).
	 */
	public function forget_token(): void {
		delete_transient( $this->token_key() );
	}

	/**
	 * Call the backend with a bearer token, renewing it once when the backend no longer accepts it.
	 *
	 * @param string     $method  HTTP method.
	 * @param string     $path    Path below the backend URL.
	 * @param array|null $body    JSON body.
	 * @param float      $timeout Seconds.
	 * @param array      $headers Extra headers.
	 * @param string     $token   A token already at hand.
	 * @return array Decoded JSON answer.
	 * @throws ClaimBridge_Backend_Exception On any failure.
	 */
	private function call( string $method, string $path, ?array $body = null, float $timeout = self::ADMIN_TIMEOUT, array $headers = array(), string $token = '' ): array {
		$token    = '' !== $token ? $token : $this->token( $timeout );
		$response = $this->send( $method, $path, $body, $timeout, $headers + array( 'Authorization' => 'Bearer ' . $token ) );
		if ( 401 === $response['status'] ) {
			$this->forget_token();
			$token    = $this->token( $timeout );
			$response = $this->send( $method, $path, $body, $timeout, $headers + array( 'Authorization' => 'Bearer ' . $token ) );
		}
		if ( $response['status'] < 200 || $response['status'] >= 300 ) {
			throw $this->failure( $method, $path, $response );
		}
		return is_array( $response['json'] ) ? $response['json'] : array();
	}

	/**
	 * A valid access token, from the cache or fresh from /oauth/token.
	 *
	 * @param float $timeout Seconds for fetching a new one.
	 * @throws ClaimBridge_Backend_Exception When the backend refused the credentials.
	 */
	private function token( float $timeout ): string {
		if ( ! $this->settings->is_configured() ) {
			throw new ClaimBridge_Backend_Exception(
				'ClaimBridge is not configured (backend URL, client id or secret missing)',
				__( 'Enter the backend URL, client id and client secret under WooCommerce → Settings → ClaimBridge.', 'claimbridge' ),
				0,
				'not_configured'
			);
		}
		$cached = get_transient( $this->token_key() );
		if ( is_string( $cached ) && '' !== $cached ) {
			return $cached;
		}
		$response = $this->send(
			'POST',
			'/oauth/token',
			null,
			$timeout,
			array(
				// phpcs:ignore WordPress.PHP.DiscouragedPHPFunctions.obfuscation_base64_encode -- HTTP Basic auth.
				'Authorization' => 'Basic ' . base64_encode( rawurlencode( $this->settings->client_id() ) . ':' . rawurlencode( $this->settings->client_secret() ) ),
				'Content-Type'  => 'application/x-www-form-urlencoded',
			),
			'grant_type=client_credentials'
		);
		if ( 200 !== $response['status'] || empty( $response['json']['access_token'] ) ) {
			throw $this->failure( 'POST', '/oauth/token', $response );
		}
		$token    = (string) $response['json']['access_token'];
		$lifetime = (int) ( $response['json']['expires_in'] ?? 3600 ) - 30;
		if ( $lifetime > 0 ) {
			set_transient( $this->token_key(), $token, $lifetime );
		}
		return $token;
	}

	/**
	 * Transient name of the cached token (changes with URL and client id).
	 */
	private function token_key(): string {
		return 'claimbridge_token_' . $this->identity_hash();
	}

	/**
	 * A short hash of the backend URL and client id, for caches that belong to one merchant's backend.
	 */
	public function identity_hash(): string {
		return md5( $this->settings->url() . '|' . $this->settings->client_id() );
	}

	/**
	 * Send one request and decode its answer.
	 *
	 * @param string     $method   HTTP method.
	 * @param string     $path     Path below the backend URL.
	 * @param array|null $body     JSON body.
	 * @param float      $timeout  Seconds.
	 * @param array      $headers  Headers.
	 * @param string     $raw_body A body sent as it is (form posts).
	 * @return array{status:int, json:mixed, error:string}
	 */
	private function send( string $method, string $path, ?array $body, float $timeout, array $headers, string $raw_body = '' ): array {
		$args = array(
			'method'      => $method,
			'timeout'     => $timeout,
			'redirection' => 0,
			'headers'     => $headers + array( 'Accept' => 'application/json' ),
			'user-agent'  => 'ClaimBridge-WooCommerce/' . CLAIMBRIDGE_VERSION . '; ' . home_url( '/' ),
		);
		if ( null !== $body ) {
			$args['headers']['Content-Type'] = 'application/json';
			$args['body']                    = wp_json_encode( $body );
		} elseif ( '' !== $raw_body ) {
			$args['body'] = $raw_body;
		}
		/**
		 * Filter a request to the ClaimBridge backend before it is sent.
		 *
		 * @param array  $args Arguments for wp_remote_request.
		 * @param string $path Path below the backend URL.
		 */
		$args     = apply_filters( 'claimbridge_backend_request', $args, $path );
		$response = wp_remote_request( $this->settings->url() . $path, $args );
		if ( is_wp_error( $response ) ) {
			return array(
				'status' => 0,
				'json'   => null,
				'error'  => $response->get_error_message(),
			);
		}
		return array(
			'status' => (int) wp_remote_retrieve_response_code( $response ),
			'json'   => json_decode( (string) wp_remote_retrieve_body( $response ), true ),
			'error'  => '',
		);
	}

	/**
	 * Turn a failed answer into an exception with the backend's own words.
	 *
	 * @param string $method   HTTP method.
	 * @param string $path     Path called.
	 * @param array  $response Result of send().
	 */
	private function failure( string $method, string $path, array $response ): ClaimBridge_Backend_Exception {
		$status = $response['status'];
		$json   = is_array( $response['json'] ) ? $response['json'] : array();
		$code   = (string) ( $json['error'] ?? ( 0 === $status ? 'unreachable' : 'http_' . $status ) );
		$said   = (string) ( $json['message'] ?? $json['error_description'] ?? $response['error'] );
		$log    = sprintf( 'ClaimBridge backend %s %s failed: %s %s', $method, $path, 0 === $status ? 'no answer' : 'HTTP ' . $status, $said );
		if ( 0 === $status ) {
			/* translators: %s: the transport's error message */
			$user = sprintf( __( 'The ClaimBridge backend could not be reached: %s', 'claimbridge' ), $said );
		} elseif ( 401 === $status || 'invalid_client' === $code ) {
			$user = __( 'The ClaimBridge backend refused the client id or secret.', 'claimbridge' );
		} elseif ( 403 === $status ) {
			$user = __( 'The ClaimBridge client lacks the permission (scope) for this action; ask your ClaimBridge operator.', 'claimbridge' );
		} else {
			/* translators: 1: HTTP status, 2: the backend's message */
			$user = sprintf( __( 'The ClaimBridge backend answered %1$d: %2$s', 'claimbridge' ), $status, $said );
		}
		return new ClaimBridge_Backend_Exception( $log, $user, $status, $code );
	}
}
