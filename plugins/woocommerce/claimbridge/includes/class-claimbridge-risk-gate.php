<?php
/**
 * The checkout gate: which invoice-like gateways a buyer may see and use.
 *
 * @package ClaimBridge
 */

declare(strict_types=1);

defined( 'ABSPATH' ) || exit;

/**
 * Asks the backend for a decision, caches it by the checkout's hash, and applies the fail mode when no
 * decision arrives. Knows nothing of WooCommerce's hooks (ClaimBridge_Checkout wires those).
 *
 * Data protection: before the buyer has chosen an invoice-like method the backend is told so
 * (selected_payment_method null) and decides from the shop's data and offline signals alone; only a
 * decision for a chosen invoice-like method may involve a credit bureau.
 */
class ClaimBridge_Risk_Gate {

	/**
	 * Seconds a fail-mode answer is kept, so a backend that is down does not cost every cart refresh 2 s.
	 */
	const FAILURE_TTL = 60;

	/**
	 * Backend client.
	 *
	 * @var ClaimBridge_Backend_Client
	 */
	private $backend;

	/**
	 * Settings.
	 *
	 * @var ClaimBridge_Settings
	 */
	private $settings;

	/**
	 * The merchant's invoice-like gateways and buyer message, from the backend.
	 *
	 * @var ClaimBridge_Checkout_Settings
	 */
	private $checkout_settings;

	/**
	 * Cache of the latest decision.
	 *
	 * @var ClaimBridge_Decision_Store
	 */
	private $store;

	/**
	 * Build the gate.
	 *
	 * @param ClaimBridge_Backend_Client      $backend  Backend client.
	 * @param ClaimBridge_Settings            $settings Settings.
	 * @param ClaimBridge_Decision_Store|null $store    Decision cache (WooCommerce session by default).
	 * @param ClaimBridge_Checkout_Settings|null $checkout_settings The merchant's settings (read through $backend by default).
	 */
	public function __construct( ClaimBridge_Backend_Client $backend, ClaimBridge_Settings $settings, ?ClaimBridge_Decision_Store $store = null, ?ClaimBridge_Checkout_Settings $checkout_settings = null ) {
		$this->backend           = $backend;
		$this->settings          = $settings;
		$this->store             = $store ?? new ClaimBridge_Decision_Store();
		$this->checkout_settings = $checkout_settings ?? new ClaimBridge_Checkout_Settings( $backend );
	}

	/**
	 * The sentence a buyer reads when invoice is not offered (the backend's, as every shop shows it).
	 */
	public function buyer_message(): string {
		return $this->checkout_settings->buyer_message();
	}

	/**
	 * The offered gateways the merchant's policy counts as invoice-like.
	 *
	 * @param string[] $offered Gateway ids on offer.
	 * @return string[]
	 */
	public function invoice_like( array $offered ): array {
		return array_values( array_intersect( $offered, $this->checkout_settings->invoice_gateways() ) );
	}

	/**
	 * Decide which of the offered gateways to hide for this checkout.
	 *
	 * @param ClaimBridge_Checkout_Snapshot $checkout The checkout.
	 * @param string[]                      $offered  Gateway ids on offer.
	 * @param string|null                   $selected The gateway the buyer chose, if any.
	 */
	public function decide( ClaimBridge_Checkout_Snapshot $checkout, array $offered, ?string $selected = null ): ClaimBridge_Gate_Decision {
		$invoice_like = $this->invoice_like( $offered );
		$chosen       = null !== $selected && in_array( $selected, $invoice_like, true );
		if ( ! $invoice_like || ! $checkout->is_checkable() ) {
			return new ClaimBridge_Gate_Decision( array(), 'accept', null, $chosen );
		}
		$key    = $checkout->hash() . '|' . ( $chosen ? 'chosen:' . $selected : 'offer' ) . '|' . implode( ',', $invoice_like );
		$cached = $this->store->get( $key );
		if ( null !== $cached ) {
			return ClaimBridge_Gate_Decision::from_array( $cached );
		}
		if ( ! $this->checkout_settings->is_known() ) {
			// The backend did not answer for the merchant's settings a moment ago: the fail mode, without waiting again.
			return $this->unavailable( $key, $invoice_like, $chosen );
		}
		try {
			$answer   = $this->backend->create_risk_check(
				$checkout->to_risk_check( $offered, $chosen ? $selected : null, 'wc-cart-' . substr( $checkout->hash(), 0, 16 ) ),
				self::language()
			);
			$decision = $this->from_answer( $answer, $offered, $invoice_like, $chosen );
			$this->store->put( $key, $decision->to_array() );
		} catch ( ClaimBridge_Backend_Exception $error ) {
			self::log( $error->getMessage() );
			$decision = $this->unavailable( $key, $invoice_like, $chosen );
		}
		return $decision;
	}

	/**
	 * The fail mode's decision when the backend cannot decide, kept a minute.
	 *
	 * @param string   $key          Cache key of the checkout.
	 * @param string[] $invoice_like Invoice-like gateways on offer.
	 * @param bool     $chosen       The buyer chose one of them.
	 */
	private function unavailable( string $key, array $invoice_like, bool $chosen ): ClaimBridge_Gate_Decision {
		$hidden   = ClaimBridge_Settings::FAIL_SHOW === $this->settings->fail_mode() ? array() : $invoice_like;
		$decision = new ClaimBridge_Gate_Decision( $hidden, 'unavailable', null, $chosen );
		$this->store->put( $key, $decision->to_array(), self::FAILURE_TTL );
		return $decision;
	}

	/**
	 * The latest decision of this session for this checkout, without asking the backend.
	 *
	 * @param ClaimBridge_Checkout_Snapshot $checkout The checkout.
	 * @param string[]                      $offered  Gateway ids on offer.
	 * @param string|null                   $selected The chosen gateway.
	 */
	public function cached( ClaimBridge_Checkout_Snapshot $checkout, array $offered, ?string $selected = null ): ?ClaimBridge_Gate_Decision {
		$invoice_like = $this->invoice_like( $offered );
		$chosen       = null !== $selected && in_array( $selected, $invoice_like, true );
		$cached       = $this->store->get( $checkout->hash() . '|' . ( $chosen ? 'chosen:' . $selected : 'offer' ) . '|' . implode( ',', $invoice_like ) );
		return null === $cached ? null : ClaimBridge_Gate_Decision::from_array( $cached );
	}

	/**
	 * Read the backend's answer: its hidden methods, and on decline every invoice-like method on offer.
	 *
	 * @param array    $answer       Risk check response.
	 * @param string[] $offered      Gateway ids on offer.
	 * @param string[] $invoice_like Invoice-like gateways on offer.
	 * @param bool     $chosen       Decided after the buyer chose invoice.
	 */
	private function from_answer( array $answer, array $offered, array $invoice_like, bool $chosen ): ClaimBridge_Gate_Decision {
		$outcome = (string) ( $answer['decision'] ?? 'decline' );
		$hidden  = array_values( array_intersect( (array) ( $answer['payment_methods']['hidden'] ?? array() ), $offered ) );
		if ( 'decline' === $outcome ) {
			// Decline hides every invoice-like method on offer, also when the answer names fewer.
			$hidden = array_values( array_unique( array_merge( $hidden, $invoice_like ) ) );
		}
		return new ClaimBridge_Gate_Decision( $hidden, $outcome, isset( $answer['id'] ) ? (string) $answer['id'] : null, $chosen );
	}

	/**
	 * Language of the backend's reasons: German for German sites, English otherwise.
	 */
	private static function language(): string {
		return 0 === strpos( determine_locale(), 'de' ) ? 'de' : 'en';
	}

	/**
	 * Log through WooCommerce's logger when present.
	 *
	 * @param string $message Message without personal data.
	 */
	public static function log( string $message ): void {
		if ( function_exists( 'wc_get_logger' ) ) {
			wc_get_logger()->warning( $message, array( 'source' => 'claimbridge' ) );
		}
	}
}
