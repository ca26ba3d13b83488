<?php
/**
 * Where the gate keeps the buyer's latest decision.
 *
 * @package ClaimBridge
 */

declare(strict_types=1);

defined( 'ABSPATH' ) || exit;

/**
 * Keeps one decision per buyer session: in WooCommerce's session (the default), or in memory where no
 * session exists (tests, cron). Subclasses override read() and write().
 */
class ClaimBridge_Decision_Store {

	const SESSION_KEY = 'claimbridge_decision';

	/**
	 * Decisions held in memory when there is no WooCommerce session.
	 *
	 * @var array<string, array>
	 */
	private $memory = array();

	/**
	 * The stored decision for this key, or null.
	 *
	 * @param string $key Cache key (snapshot hash and phase).
	 */
	public function get( string $key ): ?array {
		$entry = $this->read();
		if ( ! is_array( $entry ) || ( $entry['key'] ?? '' ) !== $key ) {
			return null;
		}
		if ( isset( $entry['expires'] ) && $entry['expires'] < time() ) {
			return null;
		}
		return is_array( $entry['decision'] ?? null ) ? $entry['decision'] : null;
	}

	/**
	 * Store the decision for this key, replacing the previous one.
	 *
	 * @param string   $key      Cache key.
	 * @param array    $decision Decision as array.
	 * @param int|null $ttl      Seconds it stays valid, null for the session's lifetime.
	 */
	public function put( string $key, array $decision, ?int $ttl = null ): void {
		$this->write(
			array(
				'key'      => $key,
				'decision' => $decision,
				'expires'  => null === $ttl ? null : time() + $ttl,
			)
		);
	}

	/**
	 * Read the raw entry.
	 *
	 * @return mixed
	 */
	protected function read() {
		if ( function_exists( 'WC' ) && isset( WC()->session ) && WC()->session ) {
			return WC()->session->get( self::SESSION_KEY );
		}
		return $this->memory[ self::SESSION_KEY ] ?? null;
	}

	/**
	 * Write the raw entry.
	 *
	 * @param array $entry Entry.
	 */
	protected function write( array $entry ): void {
		if ( function_exists( 'WC' ) && isset( WC()->session ) && WC()->session ) {
			WC()->session->set( self::SESSION_KEY, $entry );
			return;
		}
		$this->memory[ self::SESSION_KEY ] = $entry;
	}
}
