<?php
/**
 * The routes the ClaimBridge backend calls in the shop: wc-claimbridge/v1.
 *
 * @package ClaimBridge
 */

declare(strict_types=1);

defined( 'ABSPATH' ) || exit;

/**
 * Routes under /wp-json/wc-claimbridge/v1. The wc- namespace makes WooCommerce's REST-key authentication
 * apply (a read-only key cannot POST); every route needs manage_woocommerce.
 */
class ClaimBridge_Rest_Controller {

	const NAMESPACE_V1       = 'wc-claimbridge/v1';
	const NOTICE_META        = '_claimbridge_notice_';
	const DUNNING_META       = '_claimbridge_dunning_notice_';
	const SHOP_NOTICE_OPTION = 'claimbridge_notice_';

	/**
	 * Orders and mailer.
	 *
	 * @var ClaimBridge_Woo_Orders
	 */
	private $orders;

	/**
	 * Admin notices.
	 *
	 * @var ClaimBridge_Admin_Notices
	 */
	private $notices;

	/**
	 * Build the controller.
	 *
	 * @param ClaimBridge_Woo_Orders    $orders  Orders and mailer.
	 * @param ClaimBridge_Admin_Notices $notices Admin notices.
	 */
	public function __construct( ClaimBridge_Woo_Orders $orders, ClaimBridge_Admin_Notices $notices ) {
		$this->orders  = $orders;
		$this->notices = $notices;
	}

	/**
	 * Register the routes (rest_api_init).
	 */
	public function register_routes(): void {
		$permission = array( $this, 'can_manage' );
		register_rest_route(
			self::NAMESPACE_V1,
			'/status',
			array(
				'methods'             => 'GET',
				'callback'            => array( $this, 'status' ),
				'permission_callback' => $permission,
			)
		);
		register_rest_route(
			self::NAMESPACE_V1,
			'/notices',
			array(
				'methods'             => 'POST',
				'callback'            => array( $this, 'create_notice' ),
				'permission_callback' => $permission,
				'args'                => array(
					'order_id'        => array(
						'type'    => 'integer',
						'minimum' => 1,
					),
					'message'         => array(
						'type'      => 'string',
						'minLength' => 1,
						'maxLength' => 2000,
						'required'  => true,
					),
					'level'           => array(
						'type'     => 'string',
						'enum'     => ClaimBridge_Admin_Notices::LEVELS,
						'required' => true,
					),
					'idempotency_key' => self::key_arg(),
				),
			)
		);
		$text   = array(
			'type'     => 'string',
			'required' => true,
		);
		$amount = array(
			'type'     => 'string',
			'pattern'  => '^-?[0-9]+\.[0-9]{2}$',
			'required' => true,
		);
		register_rest_route(
			self::NAMESPACE_V1,
			'/dunning-notices',
			array(
				'methods'             => 'POST',
				'callback'            => array( $this, 'send_dunning_notice' ),
				'permission_callback' => $permission,
				'args'                => array(
					'notice_id'         => self::key_arg(),
					'order_id'          => array(
						'type'     => 'integer',
						'minimum'  => 1,
						'required' => true,
					),
					'stage'             => array(
						'type'     => 'string',
						'enum'     => array( 'reminder', 'dunning', 'final_notice' ),
						'required' => true,
					),
					'language'          => array(
						'type'     => 'string',
						'enum'     => array( 'de', 'en' ),
						'required' => true,
					),
					'recipient'         => array(
						'type'       => 'object',
						'required'   => true,
						'properties' => array(
							'email' => array(
								'type'     => 'string',
								'format'   => 'email',
								'required' => true,
							),
							'name'  => array( 'type' => 'string' ),
						),
					),
					'subject'           => array(
						'type'      => 'string',
						'minLength' => 1,
						'maxLength' => 300,
						'required'  => true,
					),
					'text'              => $text,
					'html'              => $text,
					'amounts'           => array(
						'type'       => 'object',
						'required'   => true,
						'properties' => array(
							'principal' => $amount,
							'fees'      => $amount,
							'interest'  => $amount,
							'total'     => $amount,
							'currency'  => array(
								'type'     => 'string',
								'pattern'  => '^[A-Z]{3}$',
								'required' => true,
							),
						),
					),
					'deadline'          => array(
						'type'     => 'string',
						'format'   => 'date',
						'pattern'  => '^[0-9]{4}-[0-9]{2}-[0-9]{2}$',
						'required' => true,
					),
					'payment_reference' => $text,
					'creditor'          => array(
						'type'       => 'object',
						'required'   => true,
						'properties' => array(
							'name' => $text,
							'iban' => $text,
							'bic'  => array( 'type' => 'string' ),
						),
					),
					'girocode'          => array( 'type' => 'string' ),
				),
			)
		);
	}

	/**
	 * Only shop managers (the backend's REST key belongs to one) may call the routes.
	 */
	public function can_manage(): bool {
		return current_user_can( 'manage_woocommerce' );
	}

	/**
	 * GET status: versions, order storage and the routes this plugin offers.
	 */
	public function status(): WP_REST_Response {
		return new WP_REST_Response(
			array(
				'plugin_version'      => CLAIMBRIDGE_VERSION,
				'woocommerce_version' => defined( 'WC_VERSION' ) ? WC_VERSION : '',
				'wordpress_version'   => get_bloginfo( 'version' ),
				'storage'             => self::hpos_enabled() ? 'hpos' : 'posts',
				'routes'              => array( 'notices', 'dunning-notices' ),
			),
			200
		);
	}

	/**
	 * POST notices: an admin notice (and a private note on the order it names), once per idempotency key.
	 *
	 * Without order_id the notice is shop-wide; its key is remembered in an option of its own, so it stays
	 * deduplicated after the notice list has moved on.
	 *
	 * @param WP_REST_Request $request Request.
	 * @return WP_REST_Response|WP_Error
	 */
	public function create_notice( WP_REST_Request $request ) {
		$order_id = (int) $request['order_id'];
		if ( $request->has_param( 'order_id' ) && ! $this->orders->exists( $order_id ) ) {
			return self::order_not_found( $order_id );
		}
		$key      = md5( (string) $request['idempotency_key'] );
		$meta_key = self::NOTICE_META . $key;
		$option   = self::SHOP_NOTICE_OPTION . $key;
		return $this->once(
			'notice_' . $key,
			function () use ( $order_id, $meta_key, $option ) {
				$existing = $order_id > 0 ? $this->orders->get_meta( $order_id, $meta_key ) : (string) get_option( $option, '' );
				if ( '' === $existing ) {
					return null;
				}
				return new WP_REST_Response( array( 'id' => $order_id > 0 ? (int) $existing : $existing ), 200 );
			},
			function () use ( $request, $order_id, $meta_key, $option ) {
				$message   = (string) $request['message'];
				$notice_id = $this->notices->add( $message, (string) $request['level'], $order_id );
				if ( 0 === $order_id ) {
					add_option( $option, $notice_id, '', false );
					return new WP_REST_Response( array( 'id' => $notice_id ), 201 );
				}
				$note_id = $this->orders->add_private_note( $order_id, $message );
				$this->orders->set_meta( $order_id, $meta_key, (string) $note_id );
				return new WP_REST_Response( array( 'id' => $note_id ), 201 );
			}
		);
	}

	/**
	 * POST dunning-notices: the backend's notice sent as WooCommerce's "ClaimBridge dunning notice" e-mail.
	 *
	 * 201 only when wp_mail accepted it; 502 when the mailer refused; 409 when the merchant disabled the
	 * e-mail; a repeated notice_id answers 200 with the first message id and sends nothing.
	 *
	 * @param WP_REST_Request $request Request.
	 * @return WP_REST_Response|WP_Error
	 */
	public function send_dunning_notice( WP_REST_Request $request ) {
		$order_id = (int) $request['order_id'];
		if ( ! $this->orders->exists( $order_id ) ) {
			return self::order_not_found( $order_id );
		}
		$meta_key = self::DUNNING_META . md5( (string) $request['notice_id'] );
		return $this->once(
			'dunning_' . md5( (string) $request['notice_id'] ),
			function () use ( $order_id, $meta_key ) {
				$sent = json_decode( $this->orders->get_meta( $order_id, $meta_key ), true );
				return is_array( $sent ) ? new WP_REST_Response( $sent, 200 ) : null;
			},
			function () use ( $request, $order_id, $meta_key ) {
				if ( ! $this->orders->dunning_email_enabled() ) {
					return new WP_Error( 'claimbridge_email_disabled', __( 'The ClaimBridge dunning notice e-mail is disabled under WooCommerce → Settings → Emails.', 'claimbridge' ), array( 'status' => 409 ) );
				}
				$notice = $request->get_params();
				if ( ! $this->orders->send_dunning_notice( $order_id, $notice ) ) {
					return new WP_Error( 'claimbridge_mail_failed', __( 'WordPress could not send the e-mail (wp_mail failed); check the shop\'s mail setup.', 'claimbridge' ), array( 'status' => 502 ) );
				}
				$sent = array(
					'message_id' => 'wc-claimbridge-' . $request['notice_id'] . '@' . wp_parse_url( home_url(), PHP_URL_HOST ),
					'sent_at'    => gmdate( 'Y-m-d\TH:i:s\Z' ),
				);
				$this->orders->set_meta( $order_id, $meta_key, (string) wp_json_encode( $sent ) );
				/* translators: 1: stage, 2: recipient e-mail */
				$this->orders->add_private_note( $order_id, sprintf( __( 'ClaimBridge sent the %1$s to %2$s.', 'claimbridge' ), self::stage_label( (string) $request['stage'] ), (string) $request['recipient']['email'] ) );
				return new WP_REST_Response( $sent, 201 );
			}
		);
	}

	/**
	 * The readable name of a dunning stage.
	 *
	 * @param string $stage reminder, dunning or final_notice.
	 */
	public static function stage_label( string $stage ): string {
		$labels = array(
			'reminder'     => __( 'payment reminder', 'claimbridge' ),
			'dunning'      => __( 'dunning notice', 'claimbridge' ),
			'final_notice' => __( 'final notice', 'claimbridge' ),
		);
		return $labels[ $stage ] ?? $stage;
	}

	/**
	 * Run $create once per key: a lock option (unique name, so add_option is atomic) keeps two concurrent
	 * requests from both creating; a done result is found again by $find.
	 *
	 * @param string   $lock   Lock name.
	 * @param callable $find   Returns the earlier response or null.
	 * @param callable $create Creates and returns the response.
	 * @return WP_REST_Response|WP_Error
	 */
	private function once( string $lock, callable $find, callable $create ) {
		$earlier = $find();
		if ( null !== $earlier ) {
			return $earlier;
		}
		$option = 'claimbridge_lock_' . $lock;
		if ( ! add_option( $option, time(), '', false ) ) {
			if ( (int) get_option( $option ) > time() - 60 ) {
				return new WP_Error( 'claimbridge_in_progress', __( 'The same request is being processed; retry shortly.', 'claimbridge' ), array( 'status' => 409 ) );
			}
			update_option( $option, time(), false ); // A lock left by a crashed request.
		}
		try {
			$earlier = $find();
			return null !== $earlier ? $earlier : $create();
		} finally {
			delete_option( $option );
		}
	}

	/**
	 * A 404 for an unknown order.
	 *
	 * @param int $order_id Order id.
	 */
	private static function order_not_found( int $order_id ): WP_Error {
		/* translators: %d: order id */
		return new WP_Error( 'claimbridge_order_not_found', sprintf( __( 'Order %d does not exist.', 'claimbridge' ), $order_id ), array( 'status' => 404 ) );
	}

	/**
	 * Argument schema of an idempotency key.
	 */
	private static function key_arg(): array {
		return array(
			'type'      => 'string',
			'minLength' => 1,
			'maxLength' => 200,
			'required'  => true,
		);
	}

	/**
	 * Tell whether WooCommerce stores orders in its own tables (HPOS).
	 */
	public static function hpos_enabled(): bool {
		$utils = 'Automattic\WooCommerce\Utilities\OrderUtil';
		return class_exists( $utils ) && $utils::custom_orders_table_usage_is_enabled();
	}
}
