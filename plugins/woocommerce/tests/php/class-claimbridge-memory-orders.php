<?php
/**
 * In-memory stand-in for ClaimBridge_Woo_Orders, used where WooCommerce is not installed.
 *
 * @package ClaimBridge\Tests
 */

declare(strict_types=1);

/**
 * Orders with meta and notes, and a mailer that accepts, refuses or is disabled, all in memory. It follows
 * WooCommerce's contract as the seam states it: add_order_note returns the new comment id, and
 * WC_Email::send returns what wp_mail returned.
 */
class ClaimBridge_Memory_Orders extends ClaimBridge_Woo_Orders {

	/**
	 * Meta by order id.
	 *
	 * @var array<int, array<string, string>>
	 */
	public $meta = array( 42 => array() );

	/**
	 * Notes added: [order_id, text].
	 *
	 * @var array[]
	 */
	public $notes = array();

	/**
	 * Notices sent: [order_id, notice].
	 *
	 * @var array[]
	 */
	public $sent = array();

	/**
	 * Whether the merchant left the e-mail enabled.
	 *
	 * @var bool
	 */
	public $email_enabled = true;

	/**
	 * What wp_mail answers.
	 *
	 * @var bool
	 */
	public $mail_accepts = true;

	public function exists( int $order_id ): bool {
		return isset( $this->meta[ $order_id ] );
	}

	public function get_meta( int $order_id, string $key ): string {
		return $this->meta[ $order_id ][ $key ] ?? '';
	}

	public function set_meta( int $order_id, string $key, string $value ): void {
		$this->meta[ $order_id ][ $key ] = $value;
	}

	public function add_private_note( int $order_id, string $text ): int {
		$this->notes[] = array( $order_id, $text );
		return 1000 + count( $this->notes );
	}

	public function dunning_email_enabled(): bool {
		return $this->email_enabled;
	}

	public function send_dunning_notice( int $order_id, array $notice ): bool {
		if ( $this->mail_accepts ) {
			$this->sent[] = array( $order_id, $notice );
		}
		return $this->mail_accepts;
	}
}
