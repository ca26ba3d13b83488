<?php
/**
 * The settings page's connection box: the shop's connection, webhook health and problems as the real backend
 * reports them, for the served shop connected the way Connect leaves it.
 *
 * @package ClaimBridge\Tests
 */

declare(strict_types=1);

/**
 * Runs against the shop bin/run-tests.sh serves: the backend calls it back, so the setup is committed.
 */
class StatusBoxTest extends ClaimBridge_Test_Case {

	/**
	 * The backend reaches the served shop only with committed data.
	 *
	 * @var bool
	 */
	protected $transactional = false;

	/**
	 * The backend's connection of this shop.
	 *
	 * @var array
	 */
	private static $connection = array();

	public static function setUpBeforeClass(): void {
		global $wpdb;
		parent::setUpBeforeClass();
		$key    = 'ck_' . wc_rand_hash();
		$secret = 'cs_' . wc_rand_hash();
		// includes/class-wc-auth.php create_keys(): the key is stored hashed, the secret as it is.
		$wpdb->insert(
			$wpdb->prefix . 'woocommerce_api_keys',
			array(
				'user_id'         => 1,
				'description'     => 'ClaimBridge - API (status box test)',
				'permissions'     => 'read_write',
				'consumer_key'    => wc_api_hash( $key ),
				'consumer_secret' => $secret,
				'truncated_key'   => substr( $key, -7 ),
			)
		);
		list( $status, $body ) = self::backend(
			'POST',
			'/api/v1/connections',
			array(
				'platform'    => 'woocommerce',
				'shop_url'    => home_url(),
				'credentials' => array(
					'consumer_key'    => $key,
					'consumer_secret' => $secret,
				),
			)
		);
		if ( 201 !== $status ) {
			throw new RuntimeException( 'connecting the served shop failed: ' . $status . ' ' . wp_json_encode( $body ) );
		}
		self::$connection = $body;
	}

	public static function tearDownAfterClass(): void {
		global $wpdb;
		self::backend( 'DELETE', '/api/v1/connections/' . (int) self::$connection['id'] ); // Removes its webhooks.
		$wpdb->delete( $wpdb->prefix . 'woocommerce_api_keys', array( 'description' => 'ClaimBridge - API (status box test)' ) );
		delete_option( ClaimBridge_Settings::OPTION );
		delete_option( ClaimBridge_Settings::SECRET_OPTION );
		parent::tearDownAfterClass();
	}

	private function box( string $client_secret ): string {
		$settings = new ClaimBridge_Settings();
		$settings->save(
			array(
				'url'           => (string) getenv( 'CLAIMBRIDGE_TEST_BACKEND_URL' ),
				'client_id'     => (string) getenv( 'CLAIMBRIDGE_TEST_CLIENT_ID' ),
				'client_secret' => $client_secret,
			)
		);
		$backend = new ClaimBridge_Backend_Client( $settings );
		$backend->forget_token();
		ob_start();
		( new ClaimBridge_Settings_Page( $settings, $backend ) )->render();
		$page = (string) ob_get_clean();
		return substr( $page, (int) strpos( $page, '<h2>Connection</h2>' ) );
	}

	public function test_box_shows_the_connection_each_webhooks_health_and_every_problem_with_its_fix(): void {
		$this->login( 'administrator' );
		list( , $reported ) = self::backend( 'GET', '/api/v1/connections/' . (int) self::$connection['id'] );
		$box                = $this->box( (string) getenv( 'CLAIMBRIDGE_TEST_CLIENT_SECRET' ) );
		$this->assertStringContainsString( '<th>Status</th><td>active (connection ' . (int) $reported['id'] . ')</td>', $box );
		$this->assertCount( 4, $reported['webhooks'] );
		foreach ( $reported['webhooks'] as $hook ) {
			$this->assertStringContainsString( '<tr><th>' . esc_html( $hook['topic'] ) . '</th><td>' . esc_html( (string) $hook['status_in_shop'] ) . '</td></tr>', $box );
		}
		foreach ( $reported['problems'] as $problem ) {
			$this->assertStringContainsString( '<strong>' . esc_html( $problem['message'] ) . '</strong> ' . esc_html( $problem['fix'] ), $box );
		}
		$this->assertSame( count( $reported['problems'] ), substr_count( $box, 'notice-warning' ) );
		$this->assertStringContainsString( '>Connect again</a>', $box );
	}

	public function test_box_says_what_is_wrong_when_the_backend_refuses(): void {
		$this->login( 'administrator' );
		$box = $this->box( 'not-the-secret' );
		$this->assertStringContainsString( 'notice-error', $box );
		$this->assertStringNotContainsString( 'claimbridge-connection', $box );
		$this->assertStringNotContainsString( 'Connect again', $box );
	}
}
