<?php
/**
 * Make the served test shop a connected shop of the demo merchant, as a merchant's Connect would:
 * a read/write REST key created the way WooCommerce's WC_Auth::create_keys() stores it, handed to the
 * backend's POST /api/v1/connections (which verifies it against the shop and registers the webhooks),
 * and the plugin configured with the backend's URL and client. The console then may be framed by the shop.
 *
 *   WP_DIR=... CLAIMBRIDGE_TEST_BACKEND_URL=... CLAIMBRIDGE_TEST_CLIENT_ID=... CLAIMBRIDGE_TEST_CLIENT_SECRET=... php connect-shop.php
 *
 * @package ClaimBridge\Tests
 */

declare(strict_types=1);

$_SERVER['HTTP_HOST'] = '127.0.0.1';
require getenv( 'WP_DIR' ) . '/wp-load.php';

global $wpdb;
$claimbridge_key    = 'ck_' . wc_rand_hash();
$claimbridge_secret = 'cs_' . wc_rand_hash();
// includes/class-wc-auth.php create_keys(): the key is stored hashed, the secret as it is.
$wpdb->insert(
	$wpdb->prefix . 'woocommerce_api_keys',
	array(
		'user_id'         => 1,
		'description'     => 'ClaimBridge - API (test)',
		'permissions'     => 'read_write',
		'consumer_key'    => wc_api_hash( $claimbridge_key ),
		'consumer_secret' => $claimbridge_secret,
		'truncated_key'   => substr( $claimbridge_key, -7 ),
	)
);

$claimbridge_backend = (string) getenv( 'CLAIMBRIDGE_TEST_BACKEND_URL' );
$claimbridge_token   = json_decode(
	wp_remote_retrieve_body(
		wp_remote_post(
			$claimbridge_backend . '/oauth/token',
			array(
				'body'    => array(
					'grant_type'    => 'client_credentials',
					'client_id'     => getenv( 'CLAIMBRIDGE_TEST_CLIENT_ID' ),
					'client_secret' => getenv( 'CLAIMBRIDGE_TEST_CLIENT_SECRET' ),
				),
				'timeout' => 30,
			)
		)
	),
	true
)['access_token'];
$claimbridge_answer = wp_remote_post(
	$claimbridge_backend . '/api/v1/connections',
	array(
		'timeout' => 120,
		'headers' => array(
			'Authorization' => 'Bearer ' . $claimbridge_token,
			'Content-Type'  => 'application/json',
		),
		'body'    => wp_json_encode(
			array(
				'platform'    => 'woocommerce',
				'shop_url'    => home_url(),
				'credentials' => array(
					'consumer_key'    => $claimbridge_key,
					'consumer_secret' => $claimbridge_secret,
				),
			)
		),
	)
);
if ( 201 !== wp_remote_retrieve_response_code( $claimbridge_answer ) ) {
	fwrite( STDERR, 'connecting the test shop failed: ' . wp_remote_retrieve_response_code( $claimbridge_answer ) . ' ' . wp_remote_retrieve_body( $claimbridge_answer ) . "\n" );
	exit( 1 );
}
( new ClaimBridge_Settings() )->save(
	array(
		'url'           => $claimbridge_backend,
		'client_id'     => (string) getenv( 'CLAIMBRIDGE_TEST_CLIENT_ID' ),
		'client_secret' => (string) getenv( 'CLAIMBRIDGE_TEST_CLIENT_SECRET' ),
	)
);
