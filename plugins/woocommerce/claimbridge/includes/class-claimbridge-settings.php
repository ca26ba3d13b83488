<?php
/**
 * What the plugin needs to reach the backend, and how the checkout behaves when it cannot.
 *
 * @package ClaimBridge
 */

declare(strict_types=1);

defined( 'ABSPATH' ) || exit;

/**
 * The plugin's settings: stored values, overridden by constants in wp-config.php for deployments.
 *
 * Everything else about a merchant (risk policy, dunning, handover rules) lives in the backend.
 */
class ClaimBridge_Settings {

	const OPTION        = 'claimbridge_settings';
	const SECRET_OPTION = 'claimbridge_client_secret';

	const FAIL_HIDE = 'hide';
	const FAIL_SHOW = 'show';

	/**
	 * Constants that override a stored value, by setting key.
	 */
	const CONSTANTS = array(
		'url'           => 'CLAIMBRIDGE_URL',
		'client_id'     => 'CLAIMBRIDGE_CLIENT_ID',
		'client_secret' => 'CLAIMBRIDGE_CLIENT_SECRET',
	);

	/**
	 * Gateways that count as invoice-like until the merchant chooses (ours and the two common German ones).
	 */
	const DEFAULT_INVOICE_GATEWAYS = array( 'claimbridge_invoice', 'german_market_purchase_on_account', 'invoice' );

	/**
	 * Default stored values.
	 *
	 * @return array<string, mixed>
	 */
	public static function defaults(): array {
		return array(
			'url'              => '',
			'client_id'        => '',
			'invoice_gateways' => self::DEFAULT_INVOICE_GATEWAYS,
			'fail_mode'        => self::FAIL_HIDE,
			'buyer_message'    => '',
		);
	}

	/**
	 * The stored values merged over the defaults.
	 *
	 * @return array<string, mixed>
	 */
	public function stored(): array {
		$stored = get_option( self::OPTION, array() );
		return array_merge( self::defaults(), is_array( $stored ) ? $stored : array() );
	}

	/**
	 * Tell whether a wp-config.php constant decides this setting.
	 *
	 * @param string $key Setting key (url, client_id, client_secret).
	 */
	public function is_overridden( string $key ): bool {
		return isset( self::CONSTANTS[ $key ] ) && defined( self::CONSTANTS[ $key ] );
	}

	/**
	 * The backend's base URL without a trailing slash.
	 */
	public function url(): string {
		$url = $this->is_overridden( 'url' ) ? (string) constant( self::CONSTANTS['url'] ) : (string) $this->stored()['url'];
		return untrailingslashit( trim( $url ) );
	}

	/**
	 * The OAuth2 client id.
	 */
	public function client_id(): string {
		return trim( $this->is_overridden( 'client_id' ) ? (string) constant( self::CONSTANTS['client_id'] ) : (string) $this->stored()['client_id'] );
	}

	/**
	 * The OAuth2 client secret (never shown again once saved).
	 */
	public function client_secret(): string {
		if ( $this->is_overridden( 'client_secret' ) ) {
			return (string) constant( self::CONSTANTS['client_secret'] );
		}
		return (string) get_option( self::SECRET_OPTION, '' );
	}

	/**
	 * Tell whether the backend can be reached with what is configured.
	 */
	public function is_configured(): bool {
		return '' !== $this->url() && '' !== $this->client_id() && '' !== $this->client_secret();
	}

	/**
	 * Gateway ids the merchant counts as invoice-like.
	 *
	 * @return string[]
	 */
	public function invoice_gateways(): array {
		return array_values( array_map( 'strval', (array) $this->stored()['invoice_gateways'] ) );
	}

	/**
	 * What happens when the backend cannot decide: hide invoice-like gateways (default) or show them.
	 */
	public function fail_mode(): string {
		return self::FAIL_SHOW === $this->stored()['fail_mode'] ? self::FAIL_SHOW : self::FAIL_HIDE;
	}

	/**
	 * The sentence a buyer reads when invoice is not offered (the merchant's words or ours).
	 */
	public function buyer_message(): string {
		$message = trim( (string) $this->stored()['buyer_message'] );
		return '' !== $message ? $message : __( 'Payment by invoice is not available for this order. Please choose another payment method.', 'claimbridge' );
	}

	/**
	 * Store new values; a blank secret keeps the stored one.
	 *
	 * @param array<string, mixed> $values Sanitised values by key.
	 */
	public function save( array $values ): void {
		$stored = $this->stored();
		foreach ( array( 'url', 'client_id', 'invoice_gateways', 'fail_mode', 'buyer_message' ) as $key ) {
			if ( array_key_exists( $key, $values ) ) {
				$stored[ $key ] = $values[ $key ];
			}
		}
		update_option( self::OPTION, $stored, true );
		if ( isset( $values['client_secret'] ) && '' !== $values['client_secret'] ) {
			// Not autoloaded: the secret is read only when a token is due.
			update_option( self::SECRET_OPTION, $values['client_secret'], false );
		}
	}

	/**
	 * Clean posted settings into storable values; unknown keys are dropped.
	 *
	 * @param array<string, mixed> $input Raw values (already unslashed).
	 * @return array<string, mixed>
	 */
	public static function sanitize( array $input ): array {
		$clean = array();
		if ( isset( $input['url'] ) ) {
			$clean['url'] = esc_url_raw( trim( (string) $input['url'] ), array( 'http', 'https' ) );
		}
		if ( isset( $input['client_id'] ) ) {
			$clean['client_id'] = sanitize_text_field( (string) $input['client_id'] );
		}
		if ( isset( $input['client_secret'] ) ) {
			$clean['client_secret'] = trim( sanitize_text_field( (string) $input['client_secret'] ) );
		}
		$gateways                  = isset( $input['invoice_gateways'] ) ? (array) $input['invoice_gateways'] : array();
		$clean['invoice_gateways'] = array_values( array_unique( array_filter( array_map( 'sanitize_key', $gateways ) ) ) );
		if ( isset( $input['fail_mode'] ) ) {
			$clean['fail_mode'] = self::FAIL_SHOW === $input['fail_mode'] ? self::FAIL_SHOW : self::FAIL_HIDE;
		}
		if ( isset( $input['buyer_message'] ) ) {
			$clean['buyer_message'] = sanitize_textarea_field( (string) $input['buyer_message'] );
		}
		return $clean;
	}
}
