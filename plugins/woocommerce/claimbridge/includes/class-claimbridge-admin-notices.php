<?php
/**
 * Notices the backend leaves for the merchant in the WordPress admin.
 *
 * @package ClaimBridge
 */

declare(strict_types=1);

defined( 'ABSPATH' ) || exit;

/**
 * A short list of backend notices (newest first, at most MAX), shown to shop managers until dismissed.
 */
class ClaimBridge_Admin_Notices {

	const OPTION = 'claimbridge_admin_notices';
	const MAX    = 20;
	const LEVELS = array( 'info', 'warning', 'error' );

	/**
	 * Add a notice.
	 *
	 * @param string $message Text.
	 * @param string $level   info, warning or error.
	 * @param int    $order_id Order it concerns (0 for none).
	 * @return string The notice's id.
	 */
	public function add( string $message, string $level, int $order_id = 0 ): string {
		$id      = wp_generate_uuid4();
		$notices = $this->all();
		array_unshift(
			$notices,
			array(
				'id'       => $id,
				'message'  => $message,
				'level'    => in_array( $level, self::LEVELS, true ) ? $level : 'info',
				'order_id' => $order_id,
				'at'       => time(),
			)
		);
		update_option( self::OPTION, array_slice( $notices, 0, self::MAX ), false );
		return $id;
	}

	/**
	 * Every stored notice, newest first.
	 *
	 * @return array[]
	 */
	public function all(): array {
		$notices = get_option( self::OPTION, array() );
		return is_array( $notices ) ? array_values( $notices ) : array();
	}

	/**
	 * Remove one notice.
	 *
	 * @param string $id Notice id.
	 */
	public function dismiss( string $id ): void {
		$notices = array_filter(
			$this->all(),
			static function ( $notice ) use ( $id ) {
				return ( $notice['id'] ?? '' ) !== $id;
			}
		);
		update_option( self::OPTION, array_values( $notices ), false );
	}

	/**
	 * Dismiss a notice from the admin link (admin_post_claimbridge_dismiss_notice): capability and nonce.
	 */
	public function dismiss_from_request(): void {
		$id = isset( $_GET['notice'] ) ? sanitize_key( wp_unslash( $_GET['notice'] ) ) : '';
		if ( ! current_user_can( 'manage_woocommerce' ) || ! check_admin_referer( 'claimbridge_dismiss_' . $id ) ) {
			wp_die( esc_html__( 'You are not allowed to do this.', 'claimbridge' ), 403 );
		}
		$this->dismiss( $id );
		wp_safe_redirect( wp_get_referer() ? wp_get_referer() : admin_url() );
		exit;
	}

	/**
	 * Show the notices to shop managers (admin_notices).
	 */
	public function render(): void {
		if ( ! current_user_can( 'manage_woocommerce' ) ) {
			return;
		}
		foreach ( $this->all() as $notice ) {
			$dismiss = wp_nonce_url( admin_url( 'admin-post.php?action=claimbridge_dismiss_notice&notice=' . rawurlencode( (string) $notice['id'] ) ), 'claimbridge_dismiss_' . $notice['id'] );
			$order   = (int) ( $notice['order_id'] ?? 0 );
			$link    = '';
			if ( $order > 0 && function_exists( 'wc_get_order' ) && ( $wc_order = wc_get_order( $order ) ) ) { // phpcs:ignore Generic.CodeAnalysis.AssignmentInCondition.Found
				/* translators: %s: order number */
				$link = ' <a href="' . esc_url( $wc_order->get_edit_order_url() ) . '">' . esc_html( sprintf( __( 'Order %s', 'claimbridge' ), $wc_order->get_order_number() ) ) . '</a>';
			}
			printf(
				'<div class="notice notice-%1$s"><p><strong>ClaimBridge:</strong> %2$s%3$s <a href="%4$s">%5$s</a></p></div>',
				esc_attr( (string) $notice['level'] ),
				esc_html( (string) $notice['message'] ),
				$link, // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- escaped above.
				esc_url( $dismiss ),
				esc_html__( 'Dismiss', 'claimbridge' )
			);
		}
	}
}
