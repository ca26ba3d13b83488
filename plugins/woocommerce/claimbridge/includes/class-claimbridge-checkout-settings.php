<?php
/**
 * The merchant's settings a checkout shows, read from the backend (the one place they are kept).
 *
 * @package ClaimBridge
 */

declare(strict_types=1);

defined( 'ABSPATH' ) || exit;

/**
 * Payment term, invoice-like gateways and the buyer-facing message from GET /api/v1/checkout-settings,
 * cached for a few minutes. When the backend cannot be asked, the backend's defaults stand in (kept for a
 * minute, so a backend that is down does not cost every page the request's 2 s).
 */
class ClaimBridge_Checkout_Settings {

	const CACHE_PREFIX = 'claimbridge_checkout_settings_';
	const CACHE_TTL    = 300;
	const FAILURE_TTL  = 60;

	/**
	 * The backend's defaults: its payment term and its policy's invoice-like methods.
	 */
	const DEFAULT_TERMS_DAYS       = 14;
	const DEFAULT_INVOICE_GATEWAYS = array( 'invoice', 'payment_invoicepayment', 'german_market_purchase_on_account', 'claimbridge_invoice' );

	/**
	 * Backend client.
	 *
	 * @var ClaimBridge_Backend_Client
	 */
	private $backend;

	/**
	 * Build the reader.
	 *
	 * @param ClaimBridge_Backend_Client $backend Backend client.
	 */
	public function __construct( ClaimBridge_Backend_Client $backend ) {
		$this->backend = $backend;
	}

	/**
	 * Days from the order to its due date, as the backend dates the receivable.
	 */
	public function payment_terms_days(): int {
		return max( 0, (int) ( $this->settings()['payment_terms_days'] ?? self::DEFAULT_TERMS_DAYS ) );
	}

	/**
	 * Gateway ids the merchant's policy counts as invoice-like.
	 *
	 * @return string[]
	 */
	public function invoice_gateways(): array {
		return array_values( array_map( 'strval', (array) ( $this->settings()['invoice_methods'] ?? self::DEFAULT_INVOICE_GATEWAYS ) ) );
	}

	/**
	 * The sentence a buyer reads when invoice is not offered: the backend's, as Shopware shows it.
	 */
	public function buyer_message(): string {
		$messages = (array) ( $this->settings()['invoice_unavailable_message'] ?? array() );
		$language = 0 === strpos( determine_locale(), 'de' ) ? 'de' : 'en';
		$message  = trim( (string) ( $messages[ $language ] ?? '' ) );
		return '' !== $message ? $message : __( 'Payment by invoice is not available for this order. Please choose another payment method.', 'claimbridge' );
	}

	/**
	 * Tell whether the values come from the backend (false: its defaults stand in).
	 */
	public function is_known(): bool {
		return empty( $this->settings()['fallback'] );
	}

	/**
	 * Forget the cached values (after the backend or credentials changed).
	 */
	public function forget(): void {
		delete_transient( $this->cache_key() );
	}

	/**
	 * The backend's answer, cached; the fallback marker when it could not be asked.
	 *
	 * @return array<string, mixed>
	 */
	private function settings(): array {
		$cached = get_transient( $this->cache_key() );
		if ( is_array( $cached ) ) {
			return $cached;
		}
		try {
			$settings = $this->backend->get_checkout_settings();
			set_transient( $this->cache_key(), $settings, self::CACHE_TTL );
		} catch ( ClaimBridge_Backend_Exception $error ) {
			ClaimBridge_Risk_Gate::log( $error->getMessage() );
			$settings = array( 'fallback' => true );
			set_transient( $this->cache_key(), $settings, self::FAILURE_TTL );
		}
		return $settings;
	}

	/**
	 * Transient name (changes with the backend and client, like the token's).
	 */
	private function cache_key(): string {
		return self::CACHE_PREFIX . $this->backend->identity_hash();
	}
}
