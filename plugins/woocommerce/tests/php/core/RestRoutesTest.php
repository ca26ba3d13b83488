<?php
/**
 * The backend's routes in WordPress, through their seam (no WooCommerce needed).
 *
 * @package ClaimBridge\Tests
 */

declare(strict_types=1);

/**
 * Status, notices and dunning notices: contract codes, idempotency, permissions.
 */
class RestRoutesTest extends ClaimBridge_Rest_Test_Case {

	/**
	 * The seam.
	 *
	 * @var ClaimBridge_Memory_Orders
	 */
	private $orders;

	protected function setUp(): void {
		parent::setUp();
		$this->orders = new ClaimBridge_Memory_Orders();
		$this->serve( $this->orders );
		$this->login( 'administrator' );
	}

	public function test_status_names_versions_storage_and_routes(): void {
		$response = $this->call( 'GET', 'status' );
		$this->assertSame( 200, $response->get_status() );
		$body = $response->get_data();
		$this->assertSame( CLAIMBRIDGE_VERSION, $body['plugin_version'] );
		$this->assertSame( get_bloginfo( 'version' ), $body['wordpress_version'] );
		$this->assertContains( $body['storage'], array( 'hpos', 'posts' ) );
		$this->assertSame( array( 'notices', 'dunning-notices' ), $body['routes'] );
	}

	public function test_routes_need_manage_woocommerce(): void {
		$this->login( 'editor' );
		$this->assertSame( 403, $this->call( 'GET', 'status' )->get_status() );
		wp_set_current_user( 0 );
		$response = $this->call( 'POST', 'notices', array( 'order_id' => 42, 'message' => 'x', 'level' => 'info', 'idempotency_key' => 'k' ) );
		$this->assertSame( 401, $response->get_status() );
		$this->assertSame( array(), $this->orders->notes );
	}

	public function test_notice_is_added_once_per_idempotency_key(): void {
		$body  = array(
			'order_id'        => 42,
			'message'         => 'Die Zahlung von 12,34 EUR wurde verbucht.',
			'level'           => 'info',
			'idempotency_key' => 'payment-7',
		);
		$first = $this->call( 'POST', 'notices', $body );
		$this->assertSame( 201, $first->get_status() );
		$again = $this->call( 'POST', 'notices', $body );
		$this->assertSame( 200, $again->get_status() );
		$this->assertSame( $first->get_data()['id'], $again->get_data()['id'] );
		$this->assertCount( 1, $this->orders->notes );
		$notices = ( new ClaimBridge_Admin_Notices() )->all();
		$this->assertCount( 1, $notices );
		$this->assertSame( 42, $notices[0]['order_id'] );
	}

	public function test_shop_wide_notice_needs_no_order_and_is_added_once(): void {
		$body  = array(
			'message'         => 'Der Webhook order.updated war abgeschaltet und ist wieder aktiv.',
			'level'           => 'warning',
			'idempotency_key' => 'webhooks-healed-1',
		);
		$first = $this->call( 'POST', 'notices', $body );
		$this->assertSame( 201, $first->get_status() );
		$notices = new ClaimBridge_Admin_Notices();
		for ( $n = 0; $n < ClaimBridge_Admin_Notices::MAX; $n++ ) { // Push it out of the shown list.
			$notices->add( "other $n", 'info' );
		}
		$again = $this->call( 'POST', 'notices', $body );
		$this->assertSame( 200, $again->get_status() );
		$this->assertSame( $first->get_data()['id'], $again->get_data()['id'] );
		$this->assertSame( array(), $this->orders->notes );
		$this->assertSame( 0, count( wp_list_filter( $notices->all(), array( 'message' => $body['message'] ) ) ) );
		$this->assertSame( 201, $this->call( 'POST', 'notices', array( 'idempotency_key' => 'webhooks-healed-2' ) + $body )->get_status() );
		$shown = $notices->all()[0];
		$this->assertSame( array( $body['message'], 'warning', 0 ), array( $shown['message'], $shown['level'], $shown['order_id'] ) );
	}

	public function test_bad_notices_are_refused_and_change_nothing(): void {
		$good = array(
			'order_id'        => 42,
			'message'         => 'hello',
			'level'           => 'info',
			'idempotency_key' => 'k1',
		);
		$this->assertSame( 400, $this->call( 'POST', 'notices', array( 'level' => 'loud' ) + $good )->get_status() );
		$this->assertSame( 400, $this->call( 'POST', 'notices', array( 'message' => '' ) + $good )->get_status() );
		$this->assertSame( 400, $this->call( 'POST', 'notices', array( 'order_id' => 0 ) + $good )->get_status() );
		$missing = $this->call( 'POST', 'notices', array( 'order_id' => 7 ) + $good );
		$this->assertSame( 404, $missing->get_status() );
		$this->assertSame( 'claimbridge_order_not_found', $missing->get_data()['code'] );
		$this->assertSame( array(), $this->orders->notes );
	}

	public function test_dunning_notice_is_sent_once_per_notice_id(): void {
		$notice = self::dunning_notice();
		$first  = $this->call( 'POST', 'dunning-notices', $notice );
		$this->assertSame( 201, $first->get_status() );
		$this->assertNotEmpty( $first->get_data()['message_id'] );
		$this->assertMatchesRegularExpression( '/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/', $first->get_data()['sent_at'] );
		$again = $this->call( 'POST', 'dunning-notices', $notice );
		$this->assertSame( 200, $again->get_status() );
		$this->assertSame( $first->get_data(), $again->get_data() );
		$this->assertCount( 1, $this->orders->sent );
		$this->assertSame( '12.34', $this->orders->sent[0][1]['amounts']['total'] );
	}

	public function test_refused_mail_answers_502_and_a_retry_sends_it(): void {
		$notice                     = self::dunning_notice();
		$this->orders->mail_accepts = false;
		$refused                    = $this->call( 'POST', 'dunning-notices', $notice );
		$this->assertSame( 502, $refused->get_status() );
		$this->assertSame( 'claimbridge_mail_failed', $refused->get_data()['code'] );
		$this->orders->mail_accepts = true;
		$this->assertSame( 201, $this->call( 'POST', 'dunning-notices', $notice )->get_status() );
		$this->assertCount( 1, $this->orders->sent );
	}

	public function test_disabled_email_answers_409(): void {
		$this->orders->email_enabled = false;
		$response                    = $this->call( 'POST', 'dunning-notices', self::dunning_notice() );
		$this->assertSame( 409, $response->get_status() );
		$this->assertSame( 'claimbridge_email_disabled', $response->get_data()['code'] );
		$this->assertSame( array(), $this->orders->sent );
	}

	public function test_malformed_dunning_notices_are_refused(): void {
		foreach ( array(
			array( 'stage' => 'threat' ),
			array( 'language' => 'fr' ),
			array( 'amounts' => array( 'principal' => '12.3', 'fees' => '0.00', 'interest' => '0.00', 'total' => '12.34', 'currency' => 'EUR' ) ),
			array( 'recipient' => array( 'email' => 'not-an-address' ) ),
			array( 'deadline' => '20.12.2026' ),
		) as $change ) {
			$this->assertSame( 400, $this->call( 'POST', 'dunning-notices', self::dunning_notice( $change ) )->get_status(), wp_json_encode( $change ) );
		}
		$this->assertSame( array(), $this->orders->sent );
	}
}
