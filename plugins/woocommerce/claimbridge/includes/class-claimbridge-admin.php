<?php
/**
 * WooCommerce → Collection, the menu badge, the order box and the order action.
 *
 * @package ClaimBridge
 */

declare(strict_types=1);

defined( 'ABSPATH' ) || exit;

/**
 * The merchant console embedded through a one-time console link minted server-to-server (the client secret
 * never reaches the browser), a badge counting proposals waiting, and per order a read-only box and the
 * "Propose handover to collection" action.
 */
class ClaimBridge_Admin {

	const PAGE         = 'claimbridge-collection';
	const BADGE_CACHE  = 'claimbridge_proposals_waiting';
	const ORDER_FLASH  = 'claimbridge_order_flash_';

	/**
	 * Settings.
	 *
	 * @var ClaimBridge_Settings
	 */
	private $settings;

	/**
	 * Backend client.
	 *
	 * @var ClaimBridge_Backend_Client
	 */
	private $backend;

	/**
	 * Build the admin part.
	 *
	 * @param ClaimBridge_Settings       $settings Settings.
	 * @param ClaimBridge_Backend_Client $backend  Backend client.
	 */
	public function __construct( ClaimBridge_Settings $settings, ClaimBridge_Backend_Client $backend ) {
		$this->settings = $settings;
		$this->backend  = $backend;
	}

	/**
	 * Add WooCommerce → Collection with the count of proposals waiting (admin_menu).
	 */
	public function add_menu(): void {
		$waiting = $this->proposals_waiting();
		$badge   = $waiting > 0 ? ' <span class="awaiting-mod count-' . absint( $waiting ) . '"><span class="pending-count">' . absint( $waiting ) . '</span></span>' : '';
		add_submenu_page(
			'woocommerce',
			__( 'Collection', 'claimbridge' ),
			esc_html__( 'Collection', 'claimbridge' ) . $badge,
			'manage_woocommerce',
			self::PAGE,
			array( $this, 'render_collection_page' )
		);
	}

	/**
	 * Proposals waiting for a decision (cached five minutes; 0 when the backend cannot say).
	 */
	public function proposals_waiting(): int {
		$cached = get_transient( self::BADGE_CACHE );
		if ( false !== $cached ) {
			return (int) $cached;
		}
		$count = 0;
		if ( $this->settings->is_configured() ) {
			try {
				$summary = $this->backend->handover_summary();
				$count   = (int) ( $summary['proposed'] ?? 0 );
			} catch ( ClaimBridge_Backend_Exception $error ) {
				ClaimBridge_Risk_Gate::log( $error->getMessage() );
			}
		}
		set_transient( self::BADGE_CACHE, $count, 5 * MINUTE_IN_SECONDS );
		return $count;
	}

	/**
	 * Render WooCommerce → Collection: the console in a frame, opened through a fresh one-time link
	 * (on its settings page with claimbridge-open=settings).
	 */
	public function render_collection_page(): void {
		if ( ! current_user_can( 'manage_woocommerce' ) ) {
			wp_die( esc_html__( 'You are not allowed to do this.', 'claimbridge' ), 403 );
		}
		echo '<div class="wrap claimbridge-collection"><h1>' . esc_html__( 'Collection', 'claimbridge' ) . '</h1>';
		if ( ! $this->settings->is_configured() ) {
			echo '<p>' . wp_kses_post(
				sprintf(
					/* translators: %s: settings page URL */
					__( 'Connect ClaimBridge first under <a href="%s">WooCommerce → Settings → ClaimBridge</a>.', 'claimbridge' ),
					esc_url( ClaimBridge_Settings_Page::url() )
				)
			) . '</p></div>';
			return;
		}
		$user = wp_get_current_user();
		try {
			$session = $this->backend->create_console_session( $user->display_name ? $user->display_name : $user->user_login, str_replace( '_', '-', get_user_locale() ) );
		} catch ( ClaimBridge_Backend_Exception $error ) {
			ClaimBridge_Risk_Gate::log( $error->getMessage() );
			echo '<div class="notice notice-error"><p>' . esc_html( $error->get_user_message() ) . '</p></div></div>';
			return;
		}
		delete_transient( self::BADGE_CACHE );
		$url = (string) $session['url'];
		// phpcs:ignore WordPress.Security.NonceVerification.Recommended -- only chooses the console page shown.
		if ( isset( $_GET['claimbridge-open'] ) && 'settings' === $_GET['claimbridge-open'] ) {
			$url = add_query_arg( 'open', 'settings', $url );
		}
		printf(
			'<iframe class="claimbridge-console" src="%1$s" title="%2$s" style="width:100%%;min-height:80vh;border:0;background:#fff" referrerpolicy="no-referrer"></iframe></div>',
			esc_url( $url ),
			esc_attr__( 'ClaimBridge merchant console', 'claimbridge' )
		);
	}

	/**
	 * Add the read-only ClaimBridge box to the order screen, HPOS and posts alike (add_meta_boxes).
	 *
	 * @param string $screen_id Screen or post type.
	 * @param mixed  $subject   Post or order.
	 */
	public function add_order_box( $screen_id, $subject = null ): void {
		$screens = array( 'shop_order', 'woocommerce_page_wc-orders' );
		if ( ! in_array( $screen_id, $screens, true ) ) {
			return;
		}
		add_meta_box( 'claimbridge-order', __( 'ClaimBridge', 'claimbridge' ), array( $this, 'render_order_box' ), $screen_id, 'side', 'default' );
	}

	/**
	 * The box: risk decision, dunning stage and case status of this order.
	 *
	 * @param WP_Post|WC_Order $subject Post (posts storage) or order (HPOS).
	 */
	public function render_order_box( $subject ): void {
		$order = $subject instanceof WP_Post ? wc_get_order( $subject->ID ) : $subject;
		if ( ! $order ) {
			return;
		}
		$flash = get_transient( self::ORDER_FLASH . get_current_user_id() );
		if ( is_string( $flash ) ) {
			delete_transient( self::ORDER_FLASH . get_current_user_id() );
			echo '<p class="claimbridge-flash"><em>' . esc_html( $flash ) . '</em></p>';
		}
		$rows    = array();
		$outcome = (string) $order->get_meta( ClaimBridge_Checkout::ORDER_META_OUTCOME );
		$rows[]  = array( __( 'Risk decision', 'claimbridge' ), '' !== $outcome ? self::outcome_label( $outcome ) : __( 'not checked', 'claimbridge' ) );
		$check   = (string) $order->get_meta( ClaimBridge_Checkout::ORDER_META_CHECK_ID );
		if ( '' !== $check ) {
			$rows[] = array( __( 'Risk check', 'claimbridge' ), $check );
		}
		$receivable = $this->receivable_of( $order );
		if ( null !== $receivable ) {
			$level  = (int) ( $receivable['dunning_level'] ?? 0 );
			$rows[] = array( __( 'Receivable', 'claimbridge' ), self::state_label( (string) ( $receivable['state'] ?? '' ) ) );
			$rows[] = array( __( 'Due date', 'claimbridge' ), (string) ( $receivable['due_date'] ?? '' ) );
			/* translators: %d: number of dunning notices sent */
			$rows[] = array( __( 'Dunning stage', 'claimbridge' ), $level > 0 ? sprintf( __( 'notice %d sent', 'claimbridge' ), $level ) : __( 'none', 'claimbridge' ) );
			if ( ! empty( $receivable['dunning_stopped_at'] ) ) {
				$rows[] = array( __( 'Dunning', 'claimbridge' ), __( 'stopped', 'claimbridge' ) );
			}
		}
		echo '<dl class="claimbridge-order-box">';
		foreach ( $rows as $row ) {
			echo '<dt>' . esc_html( $row[0] ) . '</dt><dd>' . esc_html( $row[1] ) . '</dd>';
		}
		echo '</dl>';
	}

	/**
	 * Offer "Propose handover to collection" in the order actions (woocommerce_order_actions).
	 *
	 * @param array         $actions Actions by slug.
	 * @param WC_Order|null $order   Order (WooCommerce 8.x passes it).
	 * @return array
	 */
	public function add_order_action( $actions, $order = null ) {
		if ( current_user_can( 'manage_woocommerce' ) ) {
			$actions['claimbridge_propose_handover'] = __( 'Propose handover to collection', 'claimbridge' );
		}
		return $actions;
	}

	/**
	 * Run the order action (woocommerce_order_action_claimbridge_propose_handover). WooCommerce has checked
	 * the order screen's nonce and edit capability; the backend decides whether the claim is ready.
	 *
	 * @param WC_Order $order The order.
	 */
	public function propose_handover( $order ): void {
		if ( ! current_user_can( 'manage_woocommerce' ) ) {
			return;
		}
		$receivable = $this->receivable_of( $order );
		if ( null === $receivable ) {
			$message = __( 'ClaimBridge does not track this order yet, so it cannot be proposed for collection.', 'claimbridge' );
		} else {
			$user = wp_get_current_user();
			try {
				$this->backend->propose_handover( (int) $receivable['id'], $user->display_name ? $user->display_name : $user->user_login );
				$message = __( 'Proposed for handover to collection. Approve it under WooCommerce → Collection.', 'claimbridge' );
				$order->add_order_note( $message, 0, true );
				delete_transient( self::BADGE_CACHE );
			} catch ( ClaimBridge_Backend_Exception $error ) {
				$message = $error->get_user_message();
			}
		}
		set_transient( self::ORDER_FLASH . get_current_user_id(), $message, 300 );
	}

	/**
	 * The backend's receivable for an order (by number), or null.
	 *
	 * @param WC_Order $order Order.
	 */
	private function receivable_of( $order ): ?array {
		if ( ! $this->settings->is_configured() ) {
			return null;
		}
		try {
			foreach ( $this->backend->receivables_by_number( (string) $order->get_order_number() ) as $receivable ) {
				if ( (string) ( $receivable['external_id'] ?? '' ) === (string) $order->get_id() || (string) ( $receivable['number'] ?? '' ) === (string) $order->get_order_number() ) {
					return $receivable;
				}
			}
		} catch ( ClaimBridge_Backend_Exception $error ) {
			ClaimBridge_Risk_Gate::log( $error->getMessage() );
		}
		return null;
	}

	/**
	 * Readable receivable state (in_collection is the case at the agency).
	 *
	 * @param string $state The backend's state.
	 */
	private static function state_label( string $state ): string {
		$labels = array(
			'open'           => __( 'open', 'claimbridge' ),
			'paid'           => __( 'paid', 'claimbridge' ),
			'partially_paid' => __( 'partially paid', 'claimbridge' ),
			'cancelled'      => __( 'cancelled', 'claimbridge' ),
			'refunded'       => __( 'refunded', 'claimbridge' ),
			'disputed'       => __( 'disputed', 'claimbridge' ),
			'in_collection'  => __( 'handed over to collection', 'claimbridge' ),
		);
		return $labels[ $state ] ?? $state;
	}

	/**
	 * Readable risk outcome.
	 *
	 * @param string $outcome accept, review, decline or unavailable.
	 */
	private static function outcome_label( string $outcome ): string {
		$labels = array(
			'accept'      => __( 'accepted', 'claimbridge' ),
			'review'      => __( 'accepted, flagged for review', 'claimbridge' ),
			'decline'     => __( 'declined', 'claimbridge' ),
			'unavailable' => __( 'backend unavailable (fail mode applied)', 'claimbridge' ),
		);
		return $labels[ $outcome ] ?? $outcome;
	}
}
