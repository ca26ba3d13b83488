<?php
/**
 * The Connect button: a one-time state from the real backend, then WooCommerce's key authorisation.
 *
 * @package ClaimBridge\Tests
 */

declare(strict_types=1);

/**
 * What the Connect button asks for and where it sends the merchant.
 */
class ConnectTest extends ClaimBridge_Test_Case {

	public function test_backend_opens_a_connect_session_for_this_shop(): void {
		$settings = $this->connect_to_backend();
		$session  = ( new ClaimBridge_Backend_Client( $settings ) )->create_connect_session( home_url() );
		$this->assertGreaterThanOrEqual( 32, strlen( $session['state'] ) );
		$this->assertSame( getenv( 'CLAIMBRIDGE_TEST_BACKEND_URL' ) . '/woocommerce/auth/callback', $session['callback_url'] );
		$this->assertGreaterThan( time(), strtotime( $session['expires_at'] ) );
		$request = $this->requests_to( '/api/v1/woocommerce/connect-sessions' )[0];
		$this->assertSame( array( 'shop_url' => home_url() ), $request[2] );
	}

	public function test_authorize_url_follows_the_wc_auth_contract(): void {
		$url = ClaimBridge_Settings_Page::authorize_url( 'st/ate+1', 'https://claims.example.org/woocommerce/auth/callback' );
		$this->assertStringStartsWith( home_url( '/wc-auth/v1/authorize?' ), $url );
		parse_str( (string) wp_parse_url( $url, PHP_URL_QUERY ), $query );
		$this->assertSame( 'ClaimBridge', $query['app_name'] );
		$this->assertSame( 'read_write', $query['scope'] );
		$this->assertSame( 'st/ate+1', $query['user_id'] );
		$this->assertSame( 'https://claims.example.org/woocommerce/auth/callback', $query['callback_url'] );
		$this->assertStringStartsWith( admin_url( 'admin.php?page=wc-settings&tab=claimbridge' ), $query['return_url'] );
	}

	public function test_settings_page_offers_connect_with_a_nonce_once_configured(): void {
		$this->login( 'administrator' );
		$settings = new ClaimBridge_Settings();
		$page     = new ClaimBridge_Settings_Page( $settings, new ClaimBridge_Backend_Client( $settings ) );
		ob_start();
		$page->render();
		$this->assertStringContainsString( 'Save the backend URL, client id and secret first', (string) ob_get_clean() );

		$this->connect_to_backend();
		ob_start();
		$page->render();
		$html = (string) ob_get_clean();
		$this->assertMatchesRegularExpression( '/admin-post\.php\?action=claimbridge_connect&(amp;|#038;)_wpnonce=[0-9a-f]{10}/', $html );
		$this->assertStringContainsString( 'This shop is not connected yet', $html );
	}

	public function test_a_refused_client_is_explained_on_the_settings_page(): void {
		$this->login( 'administrator' );
		$settings = $this->connect_to_backend( array( 'client_secret' => 'wrong' ) );
		$page     = new ClaimBridge_Settings_Page( $settings, new ClaimBridge_Backend_Client( $settings ) );
		ob_start();
		$page->render();
		$this->assertStringContainsString( 'The ClaimBridge backend refused the client id or secret.', (string) ob_get_clean() );
	}
}
