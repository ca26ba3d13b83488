<?php
/**
 * The plugin's one place where hooks are registered.
 *
 * @package ClaimBridge
 */

declare(strict_types=1);

defined( 'ABSPATH' ) || exit;

use Automattic\WooCommerce\Utilities\FeaturesUtil;

/**
 * Boots the plugin once WooCommerce is known to be active, and wires every part to its hooks.
 */
final class ClaimBridge_Plugin {

	/**
	 * The running instance (null until booted with WooCommerce active).
	 *
	 * @var ClaimBridge_Plugin|null
	 */
	private static $instance = null;

	/**
	 * Settings as stored and overridden by constants.
	 *
	 * @var ClaimBridge_Settings
	 */
	public $settings;

	/**
	 * Client of the ClaimBridge backend.
	 *
	 * @var ClaimBridge_Backend_Client
	 */
	public $backend;

	/**
	 * The merchant's settings the checkout shows, read from the backend.
	 *
	 * @var ClaimBridge_Checkout_Settings
	 */
	public $checkout_settings;

	/**
	 * The checkout gate.
	 *
	 * @var ClaimBridge_Risk_Gate
	 */
	public $gate;

	/**
	 * Declare compatibility with HPOS and the cart/checkout blocks (before_woocommerce_init).
	 */
	public static function declare_compatibility(): void {
		if ( class_exists( FeaturesUtil::class ) ) {
			FeaturesUtil::declare_compatibility( 'custom_order_tables', CLAIMBRIDGE_PLUGIN_FILE, true );
			FeaturesUtil::declare_compatibility( 'cart_checkout_blocks', CLAIMBRIDGE_PLUGIN_FILE, true );
		}
	}

	/**
	 * Start the plugin (plugins_loaded): without WooCommerce only an admin notice says why nothing happens.
	 */
	public static function boot(): void {
		add_action( 'init', array( __CLASS__, 'load_textdomain' ) );
		ClaimBridge_Settings::upgrade();
		if ( ! self::woocommerce_active() ) {
			add_action( 'admin_notices', array( __CLASS__, 'notice_woocommerce_missing' ) );
			return;
		}
		self::$instance = new self();
		self::$instance->register_hooks();
	}

	/**
	 * The running instance, or null when WooCommerce is not active.
	 */
	public static function instance(): ?ClaimBridge_Plugin {
		return self::$instance;
	}

	/**
	 * Tell whether WooCommerce is loaded.
	 */
	public static function woocommerce_active(): bool {
		return class_exists( 'WooCommerce' ) && function_exists( 'WC' );
	}

	/**
	 * Load the plugin's translations (init).
	 */
	public static function load_textdomain(): void {
		load_plugin_textdomain( 'claimbridge', false, dirname( plugin_basename( CLAIMBRIDGE_PLUGIN_FILE ) ) . '/languages' );
	}

	/**
	 * Admin notice shown while WooCommerce is missing.
	 */
	public static function notice_woocommerce_missing(): void {
		if ( ! current_user_can( 'activate_plugins' ) ) {
			return;
		}
		printf(
			'<div class="notice notice-error"><p>%s</p></div>',
			esc_html__( 'ClaimBridge needs WooCommerce: install and activate WooCommerce, then ClaimBridge protects your invoice payments.', 'claimbridge' )
		);
	}

	/**
	 * Build the parts from the stored settings.
	 */
	private function __construct() {
		$this->settings          = new ClaimBridge_Settings();
		$this->backend           = new ClaimBridge_Backend_Client( $this->settings );
		$this->checkout_settings = new ClaimBridge_Checkout_Settings( $this->backend );
		$this->gate              = new ClaimBridge_Risk_Gate( $this->backend, $this->settings, null, $this->checkout_settings );
	}

	/**
	 * Register every hook of the plugin.
	 */
	private function register_hooks(): void {
		$checkout = new ClaimBridge_Checkout( $this->gate );
		add_filter( 'woocommerce_available_payment_gateways', array( $checkout, 'filter_available_gateways' ), 100 );
		add_action( 'woocommerce_checkout_process', array( $checkout, 'start_placement' ) );
		add_filter( 'rest_request_before_callbacks', array( $checkout, 'watch_store_api_request' ), 10, 3 );
		add_action( 'woocommerce_after_checkout_validation', array( $checkout, 'validate_classic_checkout' ), 10, 2 );
		add_action( 'woocommerce_checkout_order_created', array( $checkout, 'record_decision_on_order' ) );
		add_action( 'woocommerce_store_api_checkout_update_order_from_request', array( $checkout, 'validate_store_api_checkout' ), 10, 2 );
		add_action( 'woocommerce_review_order_before_payment', array( $checkout, 'render_credit_check_notice' ) );
		// WooCommerce fires woocommerce_blocks_loaded while loading itself, before plugins_loaded reaches us.
		if ( did_action( 'woocommerce_blocks_loaded' ) ) {
			$checkout->register_store_api_data();
		} else {
			add_action( 'woocommerce_blocks_loaded', array( $checkout, 'register_store_api_data' ) );
		}

		add_filter( 'woocommerce_payment_gateways', array( __CLASS__, 'add_gateway' ) );
		add_action( 'woocommerce_blocks_payment_method_type_registration', array( __CLASS__, 'register_blocks_gateway' ) );
		add_filter( 'woocommerce_email_classes', array( __CLASS__, 'add_emails' ) );

		$routes = new ClaimBridge_Rest_Controller( new ClaimBridge_Woo_Orders(), new ClaimBridge_Admin_Notices() );
		add_action( 'rest_api_init', array( $routes, 'register_routes' ) );

		$privacy = new ClaimBridge_Privacy();
		add_action( 'admin_init', array( $privacy, 'add_policy_content' ) );

		if ( is_admin() ) {
			$settings_page = new ClaimBridge_Settings_Page( $this->settings, $this->backend );
			add_filter( 'woocommerce_settings_tabs_array', array( $settings_page, 'add_tab' ), 50 );
			add_action( 'woocommerce_settings_tabs_claimbridge', array( $settings_page, 'render' ) );
			add_action( 'woocommerce_update_options_claimbridge', array( $settings_page, 'save_from_request' ) );
			add_action( 'admin_post_claimbridge_connect', array( $settings_page, 'start_connect' ) );

			$admin = new ClaimBridge_Admin( $this->settings, $this->backend );
			add_action( 'admin_menu', array( $admin, 'add_menu' ), 60 );
			add_action( 'add_meta_boxes', array( $admin, 'add_order_box' ), 10, 2 );
			add_filter( 'woocommerce_order_actions', array( $admin, 'add_order_action' ), 10, 2 );
			add_action( 'woocommerce_order_action_claimbridge_propose_handover', array( $admin, 'propose_handover' ) );
			add_action( 'admin_notices', array( new ClaimBridge_Admin_Notices(), 'render' ) );
			add_action( 'admin_post_claimbridge_dismiss_notice', array( new ClaimBridge_Admin_Notices(), 'dismiss_from_request' ) );
		}
	}

	/**
	 * Add the ClaimBridge invoice gateway to WooCommerce's gateways.
	 *
	 * @param array $gateways Gateway class names or instances.
	 * @return array
	 */
	public static function add_gateway( $gateways ) {
		$gateways[] = 'ClaimBridge_Gateway_Invoice';
		return $gateways;
	}

	/**
	 * Register the invoice gateway with the block checkout.
	 *
	 * @param object $registry Automattic\WooCommerce\Blocks\Payments\PaymentMethodRegistry.
	 */
	public static function register_blocks_gateway( $registry ): void {
		$registry->register( new ClaimBridge_Blocks_Invoice() );
	}

	/**
	 * Add the dunning notice e-mail to WooCommerce's e-mails.
	 *
	 * @param array $emails E-mail objects by class name.
	 * @return array
	 */
	public static function add_emails( $emails ) {
		$emails['ClaimBridge_Email_Dunning_Notice'] = new ClaimBridge_Email_Dunning_Notice();
		return $emails;
	}
}
