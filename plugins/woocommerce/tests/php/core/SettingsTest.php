<?php
/**
 * Settings: saved only with capability and nonce, secret kept out of sight, constants win.
 *
 * @package ClaimBridge\Tests
 */

declare(strict_types=1);

/**
 * The settings tab's save and render.
 */
class SettingsTest extends ClaimBridge_Test_Case {

	private function page(): ClaimBridge_Settings_Page {
		$settings = new ClaimBridge_Settings();
		return new ClaimBridge_Settings_Page( $settings, new ClaimBridge_Backend_Client( $settings ) );
	}

	private function post( string $nonce ): void {
		$_POST = array(
			'_wpnonce'    => $nonce,
			'claimbridge' => array(
				'url'              => 'https://claims.example.org/',
				'client_id'        => 'client-123',
				'client_secret'    => 's3cret-value',
				'invoice_gateways' => array( 'claimbridge_invoice', 'bacs' ),
				'fail_mode'        => 'show',
				'buyer_message'    => 'Invoice is not available.',
			),
		);
	}

	public function test_saves_with_capability_and_nonce(): void {
		$this->login( 'administrator' );
		$this->post( wp_create_nonce( 'woocommerce-settings' ) );
		$this->assertTrue( $this->page()->save_from_request() );
		$settings = new ClaimBridge_Settings();
		$this->assertSame( 'https://claims.example.org', $settings->url() );
		$this->assertSame( 'client-123', $settings->client_id() );
		$this->assertSame( 's3cret-value', $settings->client_secret() );
		$this->assertSame( 'show', $settings->fail_mode() );
		// The backend keeps these (policy and message); a posted copy is not stored.
		$this->assertSame( array( 'url', 'client_id', 'fail_mode' ), array_keys( get_option( ClaimBridge_Settings::OPTION ) ) );
	}

	public function test_upgrade_drops_what_earlier_versions_stored_for_the_backend(): void {
		update_option(
			ClaimBridge_Settings::OPTION,
			array(
				'url'              => 'https://claims.example.org',
				'client_id'        => 'client-123',
				'invoice_gateways' => array( 'bacs' ),
				'fail_mode'        => 'show',
				'buyer_message'    => 'Old words.',
			)
		);
		ClaimBridge_Settings::upgrade();
		$this->assertSame(
			array(
				'url'       => 'https://claims.example.org',
				'client_id' => 'client-123',
				'fail_mode' => 'show',
			),
			get_option( ClaimBridge_Settings::OPTION )
		);
		$this->assertSame( 'show', ( new ClaimBridge_Settings() )->fail_mode() );
	}

	public function test_refuses_without_capability(): void {
		$this->login( 'subscriber' );
		$this->post( wp_create_nonce( 'woocommerce-settings' ) );
		$this->assertFalse( $this->page()->save_from_request() );
		$this->assertFalse( get_option( ClaimBridge_Settings::OPTION ) );
		$this->assertFalse( get_option( ClaimBridge_Settings::SECRET_OPTION ) );
	}

	public function test_refuses_without_a_valid_nonce(): void {
		$this->login( 'administrator' );
		$this->post( 'not-a-nonce' );
		$this->assertFalse( $this->page()->save_from_request() );
		$this->post( wp_create_nonce( 'some-other-action' ) );
		$this->assertFalse( $this->page()->save_from_request() );
		unset( $_POST['_wpnonce'] );
		$this->assertFalse( $this->page()->save_from_request() );
		$this->assertFalse( get_option( ClaimBridge_Settings::OPTION ) );
	}

	public function test_secret_is_not_autoloaded_never_shown_and_kept_when_left_blank(): void {
		global $wpdb;
		$this->login( 'administrator' );
		$this->post( wp_create_nonce( 'woocommerce-settings' ) );
		$this->page()->save_from_request();
		$autoload = $wpdb->get_var( $wpdb->prepare( "SELECT autoload FROM {$wpdb->options} WHERE option_name = %s", ClaimBridge_Settings::SECRET_OPTION ) );
		$this->assertSame( 'no', $autoload );

		$_POST['claimbridge']['client_secret'] = '';
		$this->page()->save_from_request();
		$this->assertSame( 's3cret-value', ( new ClaimBridge_Settings() )->client_secret() );

		ob_start();
		$this->page()->render();
		$html = (string) ob_get_clean();
		$this->assertStringNotContainsString( 's3cret-value', $html );
		$this->assertStringContainsString( 'Stored. Leave blank to keep it.', $html );
		$this->assertStringContainsString( 'value="client-123"', $html );
	}

	public function test_rendered_values_are_escaped(): void {
		$this->login( 'administrator' );
		( new ClaimBridge_Settings() )->save( array( 'client_id' => '"><script>alert(1)</script>' ) );
		ob_start();
		$this->page()->render();
		$html = (string) ob_get_clean();
		$this->assertStringNotContainsString( '<script>alert(1)</script>', $html );
	}

	/**
	 * @runInSeparateProcess
	 * @preserveGlobalState disabled
	 */
	public function test_constants_override_stored_values_and_cannot_be_changed_from_the_page(): void {
		define( 'CLAIMBRIDGE_URL', 'https://deploy.example.org/' );
		define( 'CLAIMBRIDGE_CLIENT_ID', 'from-config' );
		define( 'CLAIMBRIDGE_CLIENT_SECRET', 'config-secret' );
		$this->login( 'administrator' );
		$this->post( wp_create_nonce( 'woocommerce-settings' ) );
		$this->page()->save_from_request();
		$settings = new ClaimBridge_Settings();
		$this->assertSame( 'https://deploy.example.org', $settings->url() );
		$this->assertSame( 'from-config', $settings->client_id() );
		$this->assertSame( 'config-secret', $settings->client_secret() );
		$this->assertSame( '', $settings->stored()['url'] );
		$this->assertFalse( get_option( ClaimBridge_Settings::SECRET_OPTION ) );
		ob_start();
		$this->page()->render();
		$html = (string) ob_get_clean();
		$this->assertStringContainsString( 'Set by CLAIMBRIDGE_URL in wp-config.php.', $html );
		$this->assertStringNotContainsString( 'config-secret', $html );
	}
}
