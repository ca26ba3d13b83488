<?php
/**
 * "Kauf auf Rechnung": ClaimBridge's own invoice gateway for shops that have none.
 *
 * @package ClaimBridge
 */

declare(strict_types=1);

defined( 'ABSPATH' ) || exit;

/**
 * The order goes on hold; the buyer gets payment instructions (due date, account, reference, GiroCode) on
 * the thank-you page and in the order e-mail. Invoice-like by default, so the checkout gate protects it.
 */
class ClaimBridge_Gateway_Invoice extends WC_Payment_Gateway {

	const ID = 'claimbridge_invoice';

	/**
	 * Set up the gateway and its settings.
	 */
	public function __construct() {
		$this->id                 = self::ID;
		$this->has_fields         = false;
		$this->method_title       = __( 'Invoice (ClaimBridge)', 'claimbridge' );
		$this->method_description = __( 'Buyers pay after receiving the goods. ClaimBridge hides this method for risky buyers and tracks, dunns and collects unpaid invoices.', 'claimbridge' );
		$this->supports           = array( 'products' );
		$this->init_form_fields();
		$this->init_settings();
		$this->title       = (string) $this->get_option( 'title' );
		$this->description = (string) $this->get_option( 'description' );

		add_action( 'woocommerce_update_options_payment_gateways_' . $this->id, array( $this, 'process_admin_options' ) );
		add_action( 'woocommerce_thankyou_' . $this->id, array( $this, 'render_thankyou_instructions' ) );
		add_action( 'woocommerce_email_before_order_table', array( $this, 'render_email_instructions' ), 10, 3 );
	}

	/**
	 * The gateway's settings fields (WooCommerce → Settings → Payments).
	 */
	public function init_form_fields() {
		$this->form_fields = array(
			'enabled'     => array(
				'title'   => __( 'Enable/Disable', 'claimbridge' ),
				'type'    => 'checkbox',
				'label'   => __( 'Offer payment by invoice', 'claimbridge' ),
				'default' => 'no',
			),
			'title'       => array(
				'title'       => __( 'Title', 'claimbridge' ),
				'type'        => 'text',
				'description' => __( 'The name buyers see at checkout.', 'claimbridge' ),
				'default'     => __( 'Invoice', 'claimbridge' ),
				'desc_tip'    => true,
			),
			'description' => array(
				'title'   => __( 'Description', 'claimbridge' ),
				'type'    => 'textarea',
				'default' => __( 'Pay conveniently after receiving your order. You will find the account details in your order confirmation.', 'claimbridge' ),
			),
		);
	}

	/**
	 * Put the order on hold awaiting payment and finish the checkout.
	 *
	 * @param int $order_id Order id.
	 * @return array
	 */
	public function process_payment( $order_id ) {
		$order = wc_get_order( $order_id );
		$order->update_status( 'on-hold', __( 'Awaiting payment by invoice.', 'claimbridge' ) );
		wc_reduce_stock_levels( $order->get_id() );
		if ( WC()->cart ) {
			WC()->cart->empty_cart();
		}
		return array(
			'result'   => 'success',
			'redirect' => $this->get_return_url( $order ),
		);
	}

	/**
	 * Payment instructions on the thank-you page.
	 *
	 * @param int $order_id Order id.
	 */
	public function render_thankyou_instructions( $order_id ): void {
		$order = wc_get_order( $order_id );
		if ( $order ) {
			echo ClaimBridge_Payment_Instructions::kses( ClaimBridge_Payment_Instructions::for_order( $order )->to_html() ); // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- filtered by kses().
		}
	}

	/**
	 * Payment instructions in the buyer's order e-mails.
	 *
	 * @param WC_Order $order         Order.
	 * @param bool     $sent_to_admin Whether the e-mail goes to the shop.
	 * @param bool     $plain_text    Plain text e-mail.
	 */
	public function render_email_instructions( $order, $sent_to_admin, $plain_text = false ): void {
		if ( $sent_to_admin || self::ID !== $order->get_payment_method() || ! $order->has_status( array( 'on-hold', 'processing' ) ) ) {
			return;
		}
		$instructions = ClaimBridge_Payment_Instructions::for_order( $order );
		if ( $plain_text ) {
			echo esc_html( wp_strip_all_tags( $instructions->to_text() ) ) . "\n\n";
		} else {
			echo ClaimBridge_Payment_Instructions::kses( $instructions->to_html( 'cid:' . ClaimBridge_Payment_Instructions::GIROCODE_CID ) ); // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- filtered by kses().
			$instructions->embed_girocode_in_next_mail();
		}
	}
}
