<?php
/**
 * The gate wired into WooCommerce's classic checkout, block checkout (Store API) and pay-for-order page.
 *
 * @package ClaimBridge
 */

declare(strict_types=1);

defined( 'ABSPATH' ) || exit;

use Automattic\WooCommerce\StoreApi\Exceptions\RouteException;
use Automattic\WooCommerce\StoreApi\Schemas\V1\CartSchema;

/**
 * What is shown is decided by woocommerce_available_payment_gateways (and, for the block checkout, the cart
 * response's extensions.claimbridge.hidden_payment_methods); what is accepted is decided again at placement,
 * where the buyer's choice is known, so a forged request cannot pay by invoice.
 */
class ClaimBridge_Checkout {

	const ORDER_META_CHECK_ID = '_claimbridge_risk_check_id';
	const ORDER_META_OUTCOME  = '_claimbridge_risk_outcome';

	/**
	 * The gate.
	 *
	 * @var ClaimBridge_Risk_Gate
	 */
	private $gate;

	/**
	 * True while an order is being placed: placement enforces the decision itself.
	 *
	 * @var bool
	 */
	private $placing = false;

	/**
	 * The decision taken at placement, stored on the order.
	 *
	 * @var ClaimBridge_Gate_Decision|null
	 */
	private $placement_decision = null;

	/**
	 * Wire the gate.
	 *
	 * @param ClaimBridge_Risk_Gate $gate The gate.
	 */
	public function __construct( ClaimBridge_Risk_Gate $gate ) {
		$this->gate = $gate;
	}

	/**
	 * Remove the gateways the decision hides (woocommerce_available_payment_gateways).
	 *
	 * Runs often: admin screens, cron and requests without a cart return at once; the pay-for-order page
	 * reads the order instead of the cart.
	 *
	 * @param array $gateways Available gateways by id.
	 * @return array
	 */
	public function filter_available_gateways( $gateways ) {
		if ( ! is_array( $gateways ) || ! $gateways || $this->placing ) {
			return $gateways;
		}
		if ( ( is_admin() && ! wp_doing_ajax() ) || wp_doing_cron() ) {
			return $gateways;
		}
		$checkout = $this->current_snapshot();
		if ( null === $checkout ) {
			return $gateways;
		}
		$selected = $this->chosen_gateway();
		$decision = $this->gate->decide( $checkout, array_keys( $gateways ), $selected );
		foreach ( $decision->hidden as $gateway_id ) {
			unset( $gateways[ $gateway_id ] );
		}
		if ( $decision->chosen && $decision->hides( (string) $selected ) && function_exists( 'wc_add_notice' ) && ! wc_has_notice( $this->gate->buyer_message(), 'notice' ) ) {
			// The buyer chose invoice and was refused: say so; every other method stays.
			wc_add_notice( $this->gate->buyer_message(), 'notice' );
		}
		return $gateways;
	}

	/**
	 * Note that a classic checkout is being placed (woocommerce_checkout_process).
	 */
	public function start_placement(): void {
		$this->placing = true;
	}

	/**
	 * Refuse a classic checkout that pays with a hidden gateway (woocommerce_after_checkout_validation).
	 *
	 * @param array    $data   Posted checkout data.
	 * @param WP_Error $errors Validation errors.
	 */
	public function validate_classic_checkout( $data, $errors ): void {
		$selected = isset( $data['payment_method'] ) ? (string) $data['payment_method'] : '';
		$decision = $this->placement_decision( $selected, ClaimBridge_Checkout_Snapshot::from_cart() );
		if ( null !== $decision && $decision->hides( $selected ) ) {
			$errors->add( 'claimbridge_payment_method_not_available', $this->gate->buyer_message() );
		}
	}

	/**
	 * Refuse a Store API checkout that pays with a hidden gateway
	 * (woocommerce_store_api_checkout_update_order_from_request): HTTP 400 claimbridge_payment_method_not_available.
	 *
	 * @param WC_Order        $order   The draft order (payment method set, addresses from the cart).
	 * @param WP_REST_Request $request The checkout request.
	 * @throws RouteException When the gateway is hidden for this buyer.
	 */
	public function validate_store_api_checkout( $order, $request ): void {
		$selected = (string) $order->get_payment_method();
		$decision = $this->placement_decision( $selected, ClaimBridge_Checkout_Snapshot::from_cart() );
		if ( null === $decision ) {
			return;
		}
		if ( $decision->hides( $selected ) ) {
			throw new RouteException( 'claimbridge_payment_method_not_available', esc_html( $this->gate->buyer_message() ), 400 );
		}
		$this->store_decision( $order, $decision );
	}

	/**
	 * Store the placement decision on a classic order (woocommerce_checkout_order_created).
	 *
	 * @param WC_Order $order The new order.
	 */
	public function record_decision_on_order( $order ): void {
		if ( null !== $this->placement_decision ) {
			$this->store_decision( $order, $this->placement_decision );
			$order->save();
		}
	}

	/**
	 * Mark requests that place an order through the Store API, so the gateway filter lets placement decide
	 * (rest_request_before_callbacks).
	 *
	 * @param mixed           $response Response so far.
	 * @param array           $handler  Route handler.
	 * @param WP_REST_Request $request  Request.
	 * @return mixed
	 */
	public function watch_store_api_request( $response, $handler, $request ) {
		if ( 'POST' === $request->get_method() && preg_match( '#^/wc/store(/v\d+)?/checkout$#', $request->get_route() ) ) {
			$this->placing = true;
		}
		return $response;
	}

	/**
	 * Add extensions.claimbridge.hidden_payment_methods to the Store API cart (woocommerce_blocks_loaded).
	 */
	public function register_store_api_data(): void {
		if ( ! function_exists( 'woocommerce_store_api_register_endpoint_data' ) ) {
			return;
		}
		woocommerce_store_api_register_endpoint_data(
			array(
				'endpoint'        => CartSchema::IDENTIFIER,
				'namespace'       => 'claimbridge',
				'data_callback'   => array( $this, 'store_api_cart_data' ),
				'schema_callback' => array( $this, 'store_api_cart_schema' ),
				'schema_type'     => ARRAY_A,
			)
		);
	}

	/**
	 * The cart's ClaimBridge data: gateway ids hidden for this buyer (recomputed as address or cart change).
	 *
	 * @return array{hidden_payment_methods: string[]}
	 */
	public function store_api_cart_data(): array {
		$checkout = ClaimBridge_Checkout_Snapshot::from_cart();
		if ( null === $checkout || ! WC()->payment_gateways() ) {
			return array( 'hidden_payment_methods' => array() );
		}
		$offered  = array_keys( array_filter( WC()->payment_gateways()->payment_gateways(), array( __CLASS__, 'is_enabled' ) ) );
		$decision = $this->gate->decide( $checkout, $offered, null );
		return array( 'hidden_payment_methods' => $decision->hidden );
	}

	/**
	 * Schema of the cart's ClaimBridge data.
	 */
	public function store_api_cart_schema(): array {
		return array(
			'hidden_payment_methods' => array(
				'description' => __( 'Payment gateway ids ClaimBridge hides for this buyer.', 'claimbridge' ),
				'type'        => 'array',
				'items'       => array( 'type' => 'string' ),
				'context'     => array( 'view', 'edit' ),
				'readonly'    => true,
			),
		);
	}

	/**
	 * Tell the buyer that choosing invoice may involve a credit check (woocommerce_review_order_before_payment).
	 */
	public function render_credit_check_notice(): void {
		echo '<p class="claimbridge-credit-check-notice">' . esc_html( self::credit_check_notice() ) . '</p>';
	}

	/**
	 * The short notice shown at checkout (Art. 13 GDPR).
	 */
	public static function credit_check_notice(): string {
		return __( 'If you choose to pay by invoice, we may check your identity and creditworthiness with a credit agency. The result only decides whether invoice payment is offered.', 'claimbridge' );
	}

	/**
	 * Tell whether a gateway object is enabled.
	 *
	 * @param object $gateway Gateway.
	 */
	public static function is_enabled( $gateway ): bool {
		return isset( $gateway->enabled ) && 'yes' === $gateway->enabled;
	}

	/**
	 * Decide at placement for an invoice-like choice (the bureau may be asked now); null for other methods.
	 *
	 * @param string                             $selected Chosen gateway id.
	 * @param ClaimBridge_Checkout_Snapshot|null $checkout The checkout.
	 */
	private function placement_decision( string $selected, ?ClaimBridge_Checkout_Snapshot $checkout ): ?ClaimBridge_Gate_Decision {
		$this->placement_decision = null;
		if ( '' === $selected || ! $this->gate->invoice_like( array( $selected ) ) || null === $checkout ) {
			return null;
		}
		$offered                  = array_keys( array_filter( WC()->payment_gateways()->payment_gateways(), array( __CLASS__, 'is_enabled' ) ) );
		$this->placement_decision = $this->gate->decide( $checkout, array_unique( array_merge( $offered, array( $selected ) ) ), $selected );
		return $this->placement_decision;
	}

	/**
	 * Keep the risk check id and outcome on the order (CRUD, so HPOS and posts storage alike).
	 *
	 * @param WC_Order                  $order    Order.
	 * @param ClaimBridge_Gate_Decision $decision Decision.
	 */
	private function store_decision( $order, ClaimBridge_Gate_Decision $decision ): void {
		if ( null !== $decision->check_id ) {
			$order->update_meta_data( self::ORDER_META_CHECK_ID, $decision->check_id );
		}
		$order->update_meta_data( self::ORDER_META_OUTCOME, $decision->outcome );
	}

	/**
	 * The checkout the gate looks at: the order on the pay-for-order page, else the cart.
	 */
	private function current_snapshot(): ?ClaimBridge_Checkout_Snapshot {
		if ( function_exists( 'is_wc_endpoint_url' ) && is_wc_endpoint_url( 'order-pay' ) ) {
			$order = wc_get_order( absint( get_query_var( 'order-pay' ) ) );
			return $order ? ClaimBridge_Checkout_Snapshot::from_order( $order ) : null;
		}
		if ( null === WC()->cart || WC()->cart->is_empty() ) {
			return null;
		}
		return ClaimBridge_Checkout_Snapshot::from_cart();
	}

	/**
	 * The gateway the buyer chose in the classic checkout, as WooCommerce's session holds it.
	 */
	private function chosen_gateway(): ?string {
		$chosen = WC()->session ? WC()->session->get( 'chosen_payment_method' ) : null;
		return is_string( $chosen ) && '' !== $chosen ? $chosen : null;
	}
}
