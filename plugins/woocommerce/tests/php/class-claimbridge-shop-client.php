<?php
/**
 * A buyer's browser session against the served test shop: cookies, the Store API nonce, JSON and forms.
 *
 * @package ClaimBridge\Tests
 */

declare(strict_types=1);

/**
 * Talks HTTP to the shop that bin/run-tests.sh serves, as a browser would.
 */
class ClaimBridge_Shop_Client {

	/**
	 * Cookie jar file.
	 *
	 * @var string
	 */
	private $jar;

	/**
	 * Store API nonce from the last answer.
	 *
	 * @var string
	 */
	private $nonce = '';

	/**
	 * Start a session with an empty cookie jar.
	 */
	public function __construct() {
		$this->jar = (string) tempnam( sys_get_temp_dir(), 'cb-cookies' );
	}

	/**
	 * Forget the cookie jar.
	 */
	public function __destruct() {
		@unlink( $this->jar ); // phpcs:ignore WordPress.PHP.NoSilencedErrors.Discouraged
	}

	/**
	 * Call a Store API route (wc/store/v1/...): the nonce is echoed as WooCommerce demands.
	 *
	 * @param string     $method HTTP method.
	 * @param string     $route  Route below /wp-json/wc/store/v1/.
	 * @param array|null $body   JSON body.
	 * @return array{0:int, 1:mixed}
	 */
	public function store( string $method, string $route, ?array $body = null ): array {
		$headers = array( 'Accept: application/json' );
		if ( '' !== $this->nonce ) {
			$headers[] = 'Nonce: ' . $this->nonce;
		}
		if ( null !== $body ) {
			$headers[] = 'Content-Type: application/json';
		}
		[ $status, $raw ] = $this->request( $method, '/wp-json/wc/store/v1/' . $route, $headers, null === $body ? null : (string) wp_json_encode( $body ) );
		return array( $status, json_decode( $raw, true ) );
	}

	/**
	 * GET a page's HTML.
	 *
	 * @param string $path Path.
	 */
	public function page( string $path ): string {
		return $this->request( 'GET', $path, array() )[1];
	}

	/**
	 * POST a form, answer decoded as JSON.
	 *
	 * @param string $path   Path with query.
	 * @param array  $fields Form fields.
	 * @return array{0:int, 1:mixed}
	 */
	public function form( string $path, array $fields ): array {
		[ $status, $raw ] = $this->request( 'POST', $path, array( 'Content-Type: application/x-www-form-urlencoded' ), http_build_query( $fields ) );
		return array( $status, json_decode( $raw, true ) );
	}

	/**
	 * Send one request with the session's cookies.
	 *
	 * @param string      $method  Method.
	 * @param string      $path    Path.
	 * @param string[]    $headers Headers.
	 * @param string|null $body    Body.
	 * @return array{0:int, 1:string}
	 */
	private function request( string $method, string $path, array $headers, ?string $body = null ): array {
		// phpcs:disable WordPress.WP.AlternativeFunctions -- a browser's session, cookie jar included.
		$curl = curl_init( home_url( $path ) );
		curl_setopt_array(
			$curl,
			array(
				CURLOPT_CUSTOMREQUEST  => $method,
				CURLOPT_RETURNTRANSFER => true,
				CURLOPT_HEADER         => true,
				CURLOPT_HTTPHEADER     => $headers,
				CURLOPT_COOKIEJAR      => $this->jar,
				CURLOPT_COOKIEFILE     => $this->jar,
				CURLOPT_TIMEOUT        => 60,
			)
		);
		if ( null !== $body ) {
			curl_setopt( $curl, CURLOPT_POSTFIELDS, $body );
		}
		$raw    = (string) curl_exec( $curl );
		$status = (int) curl_getinfo( $curl, CURLINFO_RESPONSE_CODE );
		$split  = (int) curl_getinfo( $curl, CURLINFO_HEADER_SIZE );
		curl_close( $curl );
		// phpcs:enable
		if ( preg_match( '/^Nonce:\s*(\S+)/mi', substr( $raw, 0, $split ), $match ) ) {
			$this->nonce = $match[1];
		}
		return array( $status, substr( $raw, $split ) );
	}
}
