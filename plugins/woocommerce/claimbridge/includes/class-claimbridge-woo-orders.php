<?php
/**
 * The few things the backend's routes do to WooCommerce orders and e-mails.
 *
 * @package ClaimBridge
 */

declare(strict_types=1);

defined( 'ABSPATH' ) || exit;

/**
 * Seam between the REST routes and WooCommerce: orders through CRUD only (HPOS and posts storage alike),
 * dunning notices through WooCommerce's mailer. Tests without WooCommerce pass their own subclass.
 */
class ClaimBridge_Woo_Orders {

	/**
	 * Tell whether an order exists.
	 *
	 * @param int $order_id Order id.
	 */
	public function exists( int $order_id ): bool {
		return (bool) wc_get_order( $order_id );
	}

	/**
	 * Read an order's meta value ('' when absent).
	 *
	 * @param int    $order_id Order id.
	 * @param string $key      Meta key.
	 */
	public function get_meta( int $order_id, string $key ): string {
		$order = wc_get_order( $order_id );
		return $order ? (string) $order->get_meta( $key, true ) : '';
	}

	/**
	 * Set an order's meta value and save the order.
	 *
	 * @param int    $order_id Order id.
	 * @param string $key      Meta key.
	 * @param string $value    Value.
	 */
	public function set_meta( int $order_id, string $key, string $value ): void {
		$order = wc_get_order( $order_id );
		$order->update_meta_data( $key, $value );
		$order->save();
	}

	/**
	 * Add a private order note; return its id.
	 *
	 * @param int    $order_id Order id.
	 * @param string $text     Note.
	 */
	public function add_private_note( int $order_id, string $text ): int {
		return (int) wc_get_order( $order_id )->add_order_note( $text, 0, false );
	}

	/**
	 * The dunning notice e-mail as registered with WooCommerce's mailer.
	 */
	public function dunning_email(): ?ClaimBridge_Email_Dunning_Notice {
		$emails = WC()->mailer()->get_emails();
		$email  = $emails['ClaimBridge_Email_Dunning_Notice'] ?? null;
		return $email instanceof ClaimBridge_Email_Dunning_Notice ? $email : null;
	}

	/**
	 * Tell whether the merchant left the dunning notice e-mail enabled.
	 */
	public function dunning_email_enabled(): bool {
		$email = $this->dunning_email();
		return null !== $email && $email->is_enabled();
	}

	/**
	 * Send a dunning notice through WooCommerce's mailer; true when wp_mail accepted it.
	 *
	 * @param int   $order_id Order id.
	 * @param array $notice   The backend's notice.
	 */
	public function send_dunning_notice( int $order_id, array $notice ): bool {
		$email = $this->dunning_email();
		return null !== $email && $email->trigger( wc_get_order( $order_id ), $notice );
	}
}
