<?php
/**
 * WooCommerce → Settings → ClaimBridge: backend access, fail mode, Connect; the backend's invoice-like gateways.
 *
 * @package ClaimBridge
 */

declare(strict_types=1);

defined( 'ABSPATH' ) || exit;

/**
 * The settings tab. Saving needs manage_woocommerce and WooCommerce's settings nonce; the secret is never
 * printed back. The Connect button sends the merchant through WooCommerce's /wc-auth/v1/authorize so the
 * backend receives REST keys; the status box shows what the backend reports about the connection.
 *
 * The invoice-like gateways and the buyer-facing message are the backend's (its policy's invoice_methods and
 * buyer_message, one for every shop): shown here read-only with a link to the console's settings page. The plugin's client has the
 * checkout's scopes, not settings:write, and should not: a key stored in WordPress that may rewrite the whole
 * risk policy (PUT /api/v1/policy replaces it) would widen what a compromised shop could do.
 */
class ClaimBridge_Settings_Page {

	const TAB          = 'claimbridge';
	const NONCE_ACTION = 'woocommerce-settings';
	const FLASH        = 'claimbridge_flash_';

	/**
	 * Settings.
	 *
	 * @var ClaimBridge_Settings
	 */
	private $settings;

	/**
	 * Backend client.
	 *
	 * @var ClaimBridge_Backend_Client
	 */
	private $backend;

	/**
	 * The merchant's settings the checkout shows, from the backend.
	 *
	 * @var ClaimBridge_Checkout_Settings
	 */
	private $checkout_settings;

	/**
	 * Build the page.
	 *
	 * @param ClaimBridge_Settings       $settings Settings.
	 * @param ClaimBridge_Backend_Client $backend  Backend client.
	 */
	public function __construct( ClaimBridge_Settings $settings, ClaimBridge_Backend_Client $backend ) {
		$this->settings          = $settings;
		$this->backend           = $backend;
		$this->checkout_settings = new ClaimBridge_Checkout_Settings( $backend );
	}

	/**
	 * URL of the tab.
	 */
	public static function url(): string {
		return admin_url( 'admin.php?page=wc-settings&tab=' . self::TAB );
	}

	/**
	 * Add the tab (woocommerce_settings_tabs_array).
	 *
	 * @param array $tabs Tabs by id.
	 * @return array
	 */
	public function add_tab( $tabs ) {
		$tabs[ self::TAB ] = __( 'ClaimBridge', 'claimbridge' );
		return $tabs;
	}

	/**
	 * Save the posted settings when the user may and the nonce is valid (woocommerce_update_options_claimbridge).
	 *
	 * @return bool Whether anything was saved.
	 */
	public function save_from_request(): bool {
		if ( ! current_user_can( 'manage_woocommerce' ) ) {
			return false;
		}
		$nonce = isset( $_POST['_wpnonce'] ) ? sanitize_text_field( wp_unslash( $_POST['_wpnonce'] ) ) : '';
		if ( ! wp_verify_nonce( $nonce, self::NONCE_ACTION ) ) {
			return false;
		}
		$posted = isset( $_POST['claimbridge'] ) && is_array( $_POST['claimbridge'] ) ? wp_unslash( $_POST['claimbridge'] ) : array(); // phpcs:ignore WordPress.Security.ValidatedSanitizedInput.InputNotSanitized -- ClaimBridge_Settings::sanitize.
		$values = ClaimBridge_Settings::sanitize( $posted );
		foreach ( array_keys( ClaimBridge_Settings::CONSTANTS ) as $key ) {
			if ( $this->settings->is_overridden( $key ) ) {
				unset( $values[ $key ] );
			}
		}
		$this->settings->save( $values );
		$this->backend->forget_token();
		$this->checkout_settings->forget();
		return true;
	}

	/**
	 * Start the Connect flow (admin_post_claimbridge_connect): ask the backend for a one-time state, then
	 * send the merchant to WooCommerce's key authorisation screen.
	 */
	public function start_connect(): void {
		if ( ! current_user_can( 'manage_woocommerce' ) || ! check_admin_referer( 'claimbridge_connect' ) ) {
			wp_die( esc_html__( 'You are not allowed to do this.', 'claimbridge' ), 403 );
		}
		try {
			$session = $this->backend->create_connect_session( home_url() );
		} catch ( ClaimBridge_Backend_Exception $error ) {
			ClaimBridge_Risk_Gate::log( $error->getMessage() );
			set_transient( self::FLASH . get_current_user_id(), $error->get_user_message(), 300 );
			wp_safe_redirect( self::url() );
			exit;
		}
		// phpcs:ignore WordPress.Security.SafeRedirect.wp_redirect_wp_redirect -- the shop's own wc-auth endpoint.
		wp_redirect( self::authorize_url( (string) $session['state'], (string) $session['callback_url'] ) );
		exit;
	}

	/**
	 * WooCommerce's key authorisation URL for a connect session.
	 *
	 * @param string $state        One-time state from the backend (sent as user_id).
	 * @param string $callback_url Where WooCommerce posts the keys (the backend).
	 */
	public static function authorize_url( string $state, string $callback_url ): string {
		return add_query_arg(
			array(
				'app_name'     => 'ClaimBridge',
				'scope'        => 'read_write',
				'user_id'      => rawurlencode( $state ),
				'return_url'   => rawurlencode( add_query_arg( 'claimbridge-connected', '1', self::url() ) ),
				'callback_url' => rawurlencode( $callback_url ),
			),
			home_url( '/wc-auth/v1/authorize' )
		);
	}

	/**
	 * Print the tab (woocommerce_settings_tabs_claimbridge), inside WooCommerce's settings form.
	 */
	public function render(): void {
		$flash = get_transient( self::FLASH . get_current_user_id() );
		if ( is_string( $flash ) ) {
			delete_transient( self::FLASH . get_current_user_id() );
			echo '<div class="notice notice-error inline"><p>' . esc_html( $flash ) . '</p></div>';
		}
		echo '<h2>' . esc_html__( 'ClaimBridge', 'claimbridge' ) . '</h2>';
		echo '<p>' . esc_html__( 'Connect this shop to your ClaimBridge backend. Your risk policy, dunning schedule and handover rules are managed under WooCommerce → Collection.', 'claimbridge' ) . '</p>';
		echo '<table class="form-table" role="presentation">';
		$this->text_row( 'url', __( 'Backend URL', 'claimbridge' ), $this->settings->url(), 'url' );
		$this->text_row( 'client_id', __( 'Client ID', 'claimbridge' ), $this->settings->client_id(), 'text' );
		$secret_note = '' !== $this->settings->client_secret() ? __( 'Stored. Leave blank to keep it.', 'claimbridge' ) : __( 'Not set yet.', 'claimbridge' );
		$this->text_row( 'client_secret', __( 'Client secret', 'claimbridge' ), '', 'password', $secret_note );
		echo '<tr><th scope="row"><label for="claimbridge_fail_mode">' . esc_html__( 'When the check fails', 'claimbridge' ) . '</label></th><td><select id="claimbridge_fail_mode" name="claimbridge[fail_mode]">';
		foreach ( array(
			ClaimBridge_Settings::FAIL_HIDE => __( 'Hide invoice payment (safe)', 'claimbridge' ),
			ClaimBridge_Settings::FAIL_SHOW => __( 'Offer invoice payment anyway', 'claimbridge' ),
		) as $value => $label ) {
			echo '<option value="' . esc_attr( $value ) . '"' . selected( $this->settings->fail_mode(), $value, false ) . '>' . esc_html( $label ) . '</option>';
		}
		echo '</select><p class="description">' . esc_html__( 'What buyers see when the ClaimBridge backend cannot be reached within 2 seconds.', 'claimbridge' ) . '</p></td></tr>';
		echo '</table>';
		$this->render_backend_settings();
		$this->render_connection();
	}

	/**
	 * One text input row; read-only when a constant decides the value.
	 *
	 * @param string $key   Setting key.
	 * @param string $label Label.
	 * @param string $value Value to show.
	 * @param string $type  Input type.
	 * @param string $note  Description.
	 */
	private function text_row( string $key, string $label, string $value, string $type, string $note = '' ): void {
		$locked = $this->settings->is_overridden( $key );
		printf(
			'<tr><th scope="row"><label for="claimbridge_%1$s">%2$s</label></th><td><input type="%3$s" id="claimbridge_%1$s" name="claimbridge[%1$s]" value="%4$s" class="regular-text" autocomplete="off"%5$s>',
			esc_attr( $key ),
			esc_html( $label ),
			esc_attr( $type ),
			esc_attr( 'password' === $type ? '' : $value ),
			$locked ? ' disabled' : ''
		);
		if ( $locked ) {
			/* translators: %s: constant name */
			$note = sprintf( __( 'Set by %s in wp-config.php.', 'claimbridge' ), ClaimBridge_Settings::CONSTANTS[ $key ] );
		}
		if ( '' !== $note ) {
			echo '<p class="description">' . esc_html( $note ) . '</p>';
		}
		echo '</td></tr>';
	}

	/**
	 * What the backend decides for every shop: the invoice-like gateways (the shop's gateways, those of the
	 * policy selected) and the buyer-facing message, read-only, with the way to change them.
	 */
	private function render_backend_settings(): void {
		if ( ! $this->settings->is_configured() ) {
			return;
		}
		echo '<h2>' . esc_html__( 'Invoice payment', 'claimbridge' ) . '</h2>';
		if ( ! $this->checkout_settings->is_known() ) {
			echo '<div class="notice notice-warning inline"><p>' . esc_html__( 'The ClaimBridge backend could not be asked; its defaults are shown and used until it answers.', 'claimbridge' ) . '</p></div>';
		}
		$chosen = $this->checkout_settings->invoice_gateways();
		echo '<table class="form-table" role="presentation">';
		echo '<tr><th scope="row"><label for="claimbridge_invoice_gateways">' . esc_html__( 'Invoice-like payment methods', 'claimbridge' ) . '</label></th><td>';
		echo '<select id="claimbridge_invoice_gateways" multiple disabled size="5" class="regular-text">';
		$gateways = function_exists( 'WC' ) && WC()->payment_gateways() ? WC()->payment_gateways()->payment_gateways() : array();
		foreach ( $gateways as $id => $gateway ) {
			$title = method_exists( $gateway, 'get_method_title' ) && $gateway->get_method_title() ? $gateway->get_method_title() : $gateway->get_title();
			echo '<option value="' . esc_attr( (string) $id ) . '"' . selected( in_array( (string) $id, $chosen, true ), true, false ) . '>' . esc_html( wp_strip_all_tags( (string) $title ) . ' (' . $id . ')' ) . '</option>';
		}
		echo '</select><p class="description">' . esc_html__( 'These methods are hidden for risky buyers and checked again when an order is placed; their orders become receivables. Your risk policy decides them for all your shops.', 'claimbridge' ) . '</p></td></tr>';
		echo '<tr><th scope="row">' . esc_html__( 'Message to buyers', 'claimbridge' ) . '</th><td><p class="claimbridge-buyer-message">' . esc_html( $this->checkout_settings->buyer_message() ) . '</p>';
		echo '<p class="description">' . esc_html__( 'Shown when invoice payment is not offered, the same in all your shops.', 'claimbridge' ) . '</p></td></tr>';
		echo '</table>';
		$console = add_query_arg( 'claimbridge-open', 'settings', admin_url( 'admin.php?page=' . ClaimBridge_Admin::PAGE ) );
		echo '<p><a class="button button-secondary" href="' . esc_url( $console ) . '">' . esc_html__( 'Change in the ClaimBridge settings', 'claimbridge' ) . '</a></p>';
	}

	/**
	 * The Connect button and the connection's health as the backend reports it.
	 */
	private function render_connection(): void {
		echo '<h2>' . esc_html__( 'Connection', 'claimbridge' ) . '</h2>';
		$connect = wp_nonce_url( admin_url( 'admin-post.php?action=claimbridge_connect' ), 'claimbridge_connect' );
		if ( ! $this->settings->is_configured() ) {
			echo '<p>' . esc_html__( 'Save the backend URL, client id and secret first; then connect the shop.', 'claimbridge' ) . '</p>';
			return;
		}
		try {
			$connection = $this->own_connection();
		} catch ( ClaimBridge_Backend_Exception $error ) {
			echo '<div class="notice notice-error inline"><p>' . esc_html( $error->get_user_message() ) . '</p></div>';
			return;
		}
		if ( null === $connection ) {
			echo '<p>' . esc_html__( 'This shop is not connected yet. Connecting gives ClaimBridge a WooCommerce REST key so it can follow your invoice orders.', 'claimbridge' ) . '</p>';
		} else {
			echo '<table class="widefat striped claimbridge-connection"><tbody>';
			/* translators: %d: connection id */
			echo '<tr><th>' . esc_html__( 'Status', 'claimbridge' ) . '</th><td>' . esc_html( sprintf( __( '%1$s (connection %2$d)', 'claimbridge' ), (string) $connection['status'], (int) $connection['id'] ) ) . '</td></tr>';
			foreach ( (array) ( $connection['webhooks'] ?? array() ) as $hook ) {
				echo '<tr><th>' . esc_html( (string) ( $hook['topic'] ?? '' ) ) . '</th><td>' . esc_html( (string) ( $hook['status_in_shop'] ?? '' ) ) . '</td></tr>';
			}
			echo '</tbody></table>';
			foreach ( (array) ( $connection['problems'] ?? array() ) as $problem ) {
				echo '<div class="notice notice-warning inline"><p><strong>' . esc_html( (string) ( $problem['message'] ?? '' ) ) . '</strong> ' . esc_html( (string) ( $problem['fix'] ?? '' ) ) . '</p></div>';
			}
		}
		echo '<p><a class="button button-secondary" href="' . esc_url( $connect ) . '">' . esc_html( null === $connection ? __( 'Connect', 'claimbridge' ) : __( 'Connect again', 'claimbridge' ) ) . '</a></p>';
	}

	/**
	 * This shop's connection in the backend (matched by URL), or null.
	 *
	 * @throws ClaimBridge_Backend_Exception When the backend cannot be asked.
	 */
	private function own_connection(): ?array {
		$home = untrailingslashit( home_url() );
		foreach ( $this->backend->list_connections() as $connection ) {
			if ( 'woocommerce' === ( $connection['platform'] ?? '' ) && untrailingslashit( (string) ( $connection['shop_url'] ?? '' ) ) === $home && 'disabled' !== ( $connection['status'] ?? '' ) ) {
				return $connection;
			}
		}
		return null;
	}
}
