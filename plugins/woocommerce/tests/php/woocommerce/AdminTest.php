<?php
/**
 * The admin parts inside real WooCommerce, against the real backend: the Collection menu badge, the order box,
 * the order action, and uninstalling from WooCommerce's own order tables.
 *
 * @package ClaimBridge\Tests
 */

declare(strict_types=1);

/**
 * Badge, order box, "Propose handover to collection", uninstall on HPOS.
 */
class AdminTest extends ClaimBridge_Test_Case {

	/**
	 * The admin part under test.
	 *
	 * @var ClaimBridge_Admin
	 */
	private $admin;

	/**
	 * An invoice order.
	 *
	 * @var WC_Order
	 */
	private $order;

	protected function setUp(): void {
		parent::setUp();
		$settings = new ClaimBridge_Settings();
		$settings->save(
			array(
				'url'           => (string) getenv( 'CLAIMBRIDGE_TEST_BACKEND_URL' ),
				'client_id'     => (string) getenv( 'CLAIMBRIDGE_TEST_CLIENT_ID' ),
				'client_secret' => (string) getenv( 'CLAIMBRIDGE_TEST_CLIENT_SECRET' ),
			)
		);
		$this->admin = new ClaimBridge_Admin( $settings, new ClaimBridge_Backend_Client( $settings ) );
		delete_transient( ClaimBridge_Admin::BADGE_CACHE );
		$this->login( 'administrator' );
		$this->order = wc_create_order();
		$this->order->set_payment_method( ClaimBridge_Gateway_Invoice::ID );
		$this->order->set_total( '89.90' );
		$this->order->update_meta_data( ClaimBridge_Checkout::ORDER_META_OUTCOME, 'review' );
		$this->order->update_meta_data( ClaimBridge_Checkout::ORDER_META_CHECK_ID, 'rc_0042' );
		$this->order->save();
	}

	/**
	 * Push the order to the backend as a receivable (PUT /api/v1/orders/{external_id}).
	 */
	private function track_order(): void {
		list( $status, $body ) = self::backend(
			'PUT',
			'/api/v1/orders/wc-admin-test-' . $this->order->get_id(),
			array(
				'number'          => $this->order->get_order_number(),
				'total'           => '89.90',
				'currency'        => 'EUR',
				'payment_method'  => 'claimbridge_invoice',
				'ordered_at'      => gmdate( 'Y-m-d\TH:i:s\Z' ),
				'buyer'           => array( 'email' => 'anna.schmidt@example.org' ),
				'billing_address' => array( 'country' => 'DE' ),
			)
		);
		$this->assertContains( $status, array( 200, 201 ), wp_json_encode( $body ) );
	}

	private function menu_title(): string {
		global $submenu;
		$submenu = array(); // phpcs:ignore WordPress.WP.GlobalVariablesOverride.Prohibited -- the admin menu under test.
		$this->admin->add_menu();
		foreach ( $submenu['woocommerce'] ?? array() as $entry ) {
			if ( ClaimBridge_Admin::PAGE === $entry[2] ) {
				return $entry[0];
			}
		}
		return '';
	}

	public function test_menu_badge_counts_the_proposals_the_backend_has_waiting(): void {
		list( , $summary ) = self::backend( 'GET', '/api/v1/handovers/summary' );
		$waiting           = (int) $summary['proposed'];
		$asked             = count( $this->requests_to( '/api/v1/handovers/summary' ) );
		$this->assertGreaterThan( 0, $waiting, 'the demo merchant has a proposal waiting' );
		$this->assertSame( 'Collection <span class="awaiting-mod count-' . $waiting . '"><span class="pending-count">' . $waiting . '</span></span>', $this->menu_title() );
		$this->menu_title();
		$this->assertCount( $asked + 1, $this->requests_to( '/api/v1/handovers/summary' ), 'asked once, then cached' );
	}

	public function test_menu_has_no_badge_when_the_backend_cannot_say(): void {
		( new ClaimBridge_Settings() )->save( array( 'url' => 'http://127.0.0.1:9' ) );
		$this->assertSame( 'Collection', $this->menu_title() );
	}

	private function order_box( $subject ): string {
		ob_start();
		$this->admin->render_order_box( $subject );
		return (string) ob_get_clean();
	}

	public function test_order_box_shows_the_risk_decision_and_the_backends_receivable(): void {
		$untracked = $this->order_box( $this->order );
		$this->assertStringContainsString( '<dt>Risk decision</dt><dd>accepted, flagged for review</dd>', $untracked );
		$this->assertStringContainsString( '<dt>Risk check</dt><dd>rc_0042</dd>', $untracked );
		$this->assertStringNotContainsString( 'Receivable', $untracked );

		$this->track_order();
		$box = $this->order_box( $this->order );
		$this->assertStringContainsString( '<dt>Receivable</dt><dd>open</dd>', $box );
		$this->assertSame( 1, preg_match( '~<dt>Due date</dt><dd>\d{4}-\d{2}-\d{2}</dd>~', $box ) );
		$this->assertStringContainsString( '<dt>Dunning stage</dt><dd>none</dd>', $box );
		if ( ! ClaimBridge_Rest_Controller::hpos_enabled() ) {
			$this->assertSame( $box, $this->order_box( get_post( $this->order->get_id() ) ), 'posts storage passes the post' );
		}
	}

	public function test_order_action_is_offered_to_shop_managers_only(): void {
		$this->assertArrayHasKey( 'claimbridge_propose_handover', $this->admin->add_order_action( array(), $this->order ) );
		$this->login( 'editor' );
		$this->assertSame( array(), $this->admin->add_order_action( array(), $this->order ) );
	}

	private function flash(): string {
		return (string) get_transient( ClaimBridge_Admin::ORDER_FLASH . get_current_user_id() );
	}

	public function test_order_action_tells_why_an_order_cannot_be_proposed(): void {
		$this->admin->propose_handover( $this->order );
		$this->assertSame( 'ClaimBridge does not track this order yet, so it cannot be proposed for collection.', $this->flash() );

		$this->track_order(); // Open and not yet due: the backend refuses and says why.
		$this->admin->propose_handover( $this->order );
		$refusal = $this->flash();
		$this->assertNotSame( 'ClaimBridge does not track this order yet, so it cannot be proposed for collection.', $refusal );
		$this->assertStringNotContainsString( 'Proposed for handover', $refusal );
		$proposals = array_filter(
			$this->backend_requests,
			static function ( $request ) {
				return 'POST' === $request[0] && '/handover-proposal' === substr( (string) wp_parse_url( $request[1], PHP_URL_PATH ), -18 );
			}
		);
		$this->assertCount( 1, $proposals, $refusal );
		$this->assertSame( array(), wc_get_order_notes( array( 'order_id' => $this->order->get_id() ) ) );
		$this->assertStringContainsString( esc_html( $this->flash() ), $this->order_box( $this->order ), 'shown once in the box' );
		$this->assertSame( '', $this->flash() );
	}

	public function test_uninstall_removes_order_meta_from_woocommerces_order_tables(): void {
		global $wpdb;
		$sync = wc_get_container()->get( Automattic\WooCommerce\Internal\DataStores\Orders\DataSynchronizer::class );
		$sync->create_database_tables(); // HPOS tables exist once a shop has used HPOS, whatever it uses now.
		$meta = $wpdb->prefix . 'wc_orders_meta';
		$wpdb->insert( $meta, array( 'order_id' => $this->order->get_id(), 'meta_key' => '_claimbridge_case_status', 'meta_value' => 'dunning' ) ); // phpcs:ignore WordPress.DB.SlowDBQuery
		$wpdb->insert( $meta, array( 'order_id' => $this->order->get_id(), 'meta_key' => '_unrelated', 'meta_value' => 'stays' ) ); // phpcs:ignore WordPress.DB.SlowDBQuery

		defined( 'WP_UNINSTALL_PLUGIN' ) || define( 'WP_UNINSTALL_PLUGIN', 'claimbridge/claimbridge.php' );
		include CLAIMBRIDGE_PLUGIN_DIR . 'uninstall.php';

		$this->assertSame( array( '_unrelated' ), $wpdb->get_col( $wpdb->prepare( "SELECT meta_key FROM {$meta} WHERE order_id = %d", $this->order->get_id() ) ) ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
	}
}
