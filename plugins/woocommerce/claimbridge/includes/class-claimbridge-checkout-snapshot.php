<?php
/**
 * The buyer, addresses and cart a checkout decision is made for.
 *
 * @package ClaimBridge
 */

declare(strict_types=1);

defined( 'ABSPATH' ) || exit;

/**
 * What the gate knows of one checkout: built from WooCommerce's cart and customer, or from an order, or
 * directly in tests. Its hash keys the cached decision, so a changed address or total asks again.
 */
class ClaimBridge_Checkout_Snapshot {

	/**
	 * Buyer: email, first_name, last_name, phone, company, customer_id, is_guest.
	 *
	 * @var array<string, mixed>
	 */
	public $buyer;

	/**
	 * Billing address in the backend's shape.
	 *
	 * @var array<string, string>
	 */
	public $billing;

	/**
	 * Shipping address, or null when it is the billing address.
	 *
	 * @var array<string, string>|null
	 */
	public $shipping;

	/**
	 * Order total as a decimal string.
	 *
	 * @var string
	 */
	public $total;

	/**
	 * ISO 4217 currency.
	 *
	 * @var string
	 */
	public $currency;

	/**
	 * Cart lines: sku, name, quantity, unit_price.
	 *
	 * @var array[]
	 */
	public $items;

	/**
	 * Buyer's IP address, or null.
	 *
	 * @var string|null
	 */
	public $ip;

	/**
	 * Build a snapshot.
	 *
	 * @param array       $buyer    Buyer fields.
	 * @param array       $billing  Billing address.
	 * @param array|null  $shipping Shipping address.
	 * @param string      $total    Total as a decimal string.
	 * @param string      $currency Currency code.
	 * @param array       $items    Cart lines.
	 * @param string|null $ip       Buyer's IP.
	 */
	public function __construct( array $buyer, array $billing, ?array $shipping, string $total, string $currency, array $items = array(), ?string $ip = null ) {
		$this->buyer    = $buyer;
		$this->billing  = $billing;
		$this->shipping = $shipping;
		$this->total    = $total;
		$this->currency = $currency;
		$this->items    = $items;
		$this->ip       = $ip;
	}

	/**
	 * Snapshot of the current cart and customer (WooCommerce session), or null without a cart.
	 */
	public static function from_cart(): ?ClaimBridge_Checkout_Snapshot {
		if ( ! function_exists( 'WC' ) || null === WC()->cart || null === WC()->customer ) {
			return null;
		}
		$customer = WC()->customer;
		$items    = array();
		foreach ( WC()->cart->get_cart() as $line ) {
			$product = $line['data'] ?? null;
			$items[] = array(
				'sku'        => $product ? (string) $product->get_sku() : '',
				'name'       => $product ? (string) $product->get_name() : '',
				'quantity'   => (int) $line['quantity'],
				'unit_price' => wc_format_decimal( $line['quantity'] ? ( (float) $line['line_total'] + (float) $line['line_tax'] ) / $line['quantity'] : 0, 2 ),
			);
		}
		return new self(
			array(
				'email'       => (string) $customer->get_billing_email(),
				'first_name'  => (string) $customer->get_billing_first_name(),
				'last_name'   => (string) $customer->get_billing_last_name(),
				'phone'       => (string) $customer->get_billing_phone(),
				'company'     => (string) $customer->get_billing_company(),
				'customer_id' => $customer->get_id() ? (string) $customer->get_id() : '',
				'is_guest'    => ! $customer->get_id(),
			),
			self::address( $customer, 'billing' ),
			self::address( $customer, 'shipping' ),
			wc_format_decimal( WC()->cart->get_total( 'edit' ), 2 ),
			get_woocommerce_currency(),
			$items,
			self::client_ip()
		);
	}

	/**
	 * Snapshot of a placed order (pay-for-order page, admin).
	 *
	 * @param WC_Order $order The order.
	 */
	public static function from_order( $order ): ClaimBridge_Checkout_Snapshot {
		return new self(
			array(
				'email'       => (string) $order->get_billing_email(),
				'first_name'  => (string) $order->get_billing_first_name(),
				'last_name'   => (string) $order->get_billing_last_name(),
				'phone'       => (string) $order->get_billing_phone(),
				'company'     => (string) $order->get_billing_company(),
				'customer_id' => $order->get_customer_id() ? (string) $order->get_customer_id() : '',
				'is_guest'    => ! $order->get_customer_id(),
			),
			self::address( $order, 'billing' ),
			self::address( $order, 'shipping' ),
			wc_format_decimal( $order->get_total( 'edit' ), 2 ),
			(string) $order->get_currency(),
			array(),
			(string) $order->get_customer_ip_address() ? (string) $order->get_customer_ip_address() : null
		);
	}

	/**
	 * One address of a customer or order in the backend's shape; an empty shipping address is null.
	 *
	 * @param WC_Customer|WC_Order $source Customer or order.
	 * @param string               $kind   billing or shipping.
	 */
	private static function address( $source, string $kind ): ?array {
		$get    = function ( string $field ) use ( $source, $kind ): string {
			$method = "get_{$kind}_{$field}";
			return (string) $source->$method();
		};
		$street = trim( $get( 'address_1' ) . ' ' . $get( 'address_2' ) );
		if ( 'shipping' === $kind && '' === $street && '' === $get( 'postcode' ) ) {
			return null;
		}
		return array(
			'first_name'  => $get( 'first_name' ),
			'last_name'   => $get( 'last_name' ),
			'company'     => $get( 'company' ),
			'street'      => $street,
			'postal_code' => $get( 'postcode' ),
			'city'        => $get( 'city' ),
			'country'     => $get( 'country' ),
		);
	}

	/**
	 * The buyer's IP address as WooCommerce sees it (proxy-aware), or null.
	 */
	private static function client_ip(): ?string {
		$ip = class_exists( 'WC_Geolocation' ) ? WC_Geolocation::get_ip_address() : '';
		return filter_var( $ip, FILTER_VALIDATE_IP ) ? $ip : null;
	}

	/**
	 * Tell whether the backend can check this checkout yet (a billing country is all it needs).
	 */
	public function is_checkable(): bool {
		return (bool) preg_match( '/^[A-Za-z]{2}$/', (string) ( $this->billing['country'] ?? '' ) );
	}

	/**
	 * Hash of what a decision depends on: e-mail, addresses, total and currency.
	 */
	public function hash(): string {
		return hash(
			'sha256',
			(string) wp_json_encode(
				array(
					strtolower( trim( (string) ( $this->buyer['email'] ?? '' ) ) ),
					$this->billing,
					$this->shipping,
					$this->total,
					$this->currency,
				)
			)
		);
	}

	/**
	 * The risk check request for the backend.
	 *
	 * @param string[]    $offered  Gateway ids on offer.
	 * @param string|null $selected The invoice-like gateway the buyer chose, or null before the choice.
	 * @param string      $reference Reference for the audit trail (cart hash or order number).
	 */
	public function to_risk_check( array $offered, ?string $selected, string $reference ): array {
		$buyer = array_filter(
			$this->buyer,
			static function ( $value ) {
				return '' !== $value;
			}
		);
		return array(
			'reference'               => $reference,
			'amount'                  => $this->total,
			'currency'                => $this->currency,
			'payment_methods'         => array_values( $offered ),
			'selected_payment_method' => $selected,
			'buyer'                   => $buyer,
			'billing_address'         => array_filter( $this->billing ),
			'shipping_address'        => null === $this->shipping ? null : array_filter( $this->shipping ),
			'ip'                      => $this->ip,
			'items'                   => $this->items,
		);
	}
}
