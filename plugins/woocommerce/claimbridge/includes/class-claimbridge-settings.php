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
 * Everything else about a merchant (risk policy with its invoice-like methods, payment term, the buyer-facing
 * message, dunning, handover rules) lives in the backend; ClaimBridge_Checkout_Settings reads what the
 * checkout needs.
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
	 * Keys earlier versions stored that now live in the backend (its policy's invoice_methods, its message).
	 */
	const RETIRED_KEYS = array( 'invoice_gateways', 'buyer_message' );

	/**
	 * Default stored values.
	 *
	 * @return array<string, mixed>
	 */
	public static function defaults(): array {
		return array(
			'url'       => '',
			'client_id' => '',
			'fail_mode' => self::FAIL_HIDE,
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
	 * Drop what earlier versions stored and the backend now keeps (run on every load; writes only once).
	 */
	public static function upgrade(): void {
		$stored = get_option( self::OPTION, array() );
		if ( is_array( $stored ) && array_intersect_key( $stored, array_flip( self::RETIRED_KEYS ) ) ) {
			update_option( self::OPTION, array_diff_key( $stored, array_flip( self::RETIRED_KEYS ) ), true );
			delete_transient( 'claimbridge_merchant_settings' ); // The payment term's former cache.
		}
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
	 * What happens when the backend cannot decide: hide invoice-like gateways (default) or show them.
	 */
	public function fail_mode(): string {
		return self::FAIL_SHOW === $this->stored()['fail_mode'] ? self::FAIL_SHOW : self::FAIL_HIDE;
	}

	/**
	 * Store new values; a blank secret keeps the stored one.
	 *
	 * @param array<string, mixed> $values Sanitised values by key.
	 */
	public function save( array $values ): void {
		$stored = $this->stored();
		foreach ( array( 'url', 'client_id', 'fail_mode' ) as $key ) {
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
		if ( isset( $input['fail_mode'] ) ) {
			$clean['fail_mode'] = self::FAIL_SHOW === $input['fail_mode'] ? self::FAIL_SHOW : self::FAIL_HIDE;
		}
		return $clean;
	}
}
