<?php
/**
 * The invoice gateway in the cart and checkout blocks.
 *
 * @package ClaimBridge
 */

declare(strict_types=1);

defined( 'ABSPATH' ) || exit;

use Automattic\WooCommerce\Blocks\Payments\Integrations\AbstractPaymentMethodType;

/**
 * Registers "claimbridge_invoice" with the block checkout; its script's canMakePayment reads the cart's
 * extensions.claimbridge.hidden_payment_methods.
 */
final class ClaimBridge_Blocks_Invoice extends AbstractPaymentMethodType {

	/**
	 * Payment method name (the gateway id).
	 *
	 * @var string
	 */
	protected $name = ClaimBridge_Gateway_Invoice::ID;

	/**
	 * Load the gateway's settings.
	 */
	public function initialize() {
		$this->settings = get_option( 'woocommerce_' . ClaimBridge_Gateway_Invoice::ID . '_settings', array() );
	}

	/**
	 * Tell whether the gateway is enabled.
	 */
	public function is_active() {
		return 'yes' === ( $this->settings['enabled'] ?? 'no' );
	}

	/**
	 * Register the script that renders the method in the checkout block.
	 *
	 * @return string[]
	 */
	public function get_payment_method_script_handles() {
		wp_register_script(
			'claimbridge-blocks-invoice',
			plugins_url( 'assets/js/blocks-invoice.js', CLAIMBRIDGE_PLUGIN_FILE ),
			array( 'wc-blocks-registry', 'wc-settings', 'wp-element', 'wp-html-entities', 'wp-i18n' ),
			CLAIMBRIDGE_VERSION,
			true
		);
		wp_set_script_translations( 'claimbridge-blocks-invoice', 'claimbridge', CLAIMBRIDGE_PLUGIN_DIR . 'languages' );
		return array( 'claimbridge-blocks-invoice' );
	}

	/**
	 * Data the script reads through getSetting( 'claimbridge_invoice_data' ).
	 */
	public function get_payment_method_data() {
		return array(
			'title'             => (string) ( $this->settings['title'] ?? __( 'Invoice', 'claimbridge' ) ),
			'description'       => (string) ( $this->settings['description'] ?? '' ),
			'creditCheckNotice' => ClaimBridge_Checkout::credit_check_notice(),
			'supports'          => array( 'products' ),
		);
	}
}
