<?php
/**
 * Plugin Name:          ClaimBridge for WooCommerce
 * Plugin URI:           https://claimbridge.example/woocommerce
 * Description:          Kauf auf Rechnung without the risk: hides invoice payment for risky buyers, sends the backend's dunning notices as WooCommerce e-mails and lets you approve handovers to collection in WordPress.
 * Version:              0.1.0
 * Author:               ClaimBridge
 * Requires at least:    6.1
 * Requires PHP:         7.4
 * Requires Plugins:     woocommerce
 * WC requires at least: 7.9
 * WC tested up to:      9.4
 * Text Domain:          claimbridge
 * Domain Path:          /languages
 * License:              GPL-2.0-or-later
 * License URI:          https://www.gnu.org/licenses/gpl-2.0.html
 *
 * @package ClaimBridge
 */

declare(strict_types=1);

defined( 'ABSPATH' ) || exit;

define( 'CLAIMBRIDGE_VERSION', '0.1.0' );
define( 'CLAIMBRIDGE_PLUGIN_FILE', __FILE__ );
define( 'CLAIMBRIDGE_PLUGIN_DIR', plugin_dir_path( __FILE__ ) );

require_once CLAIMBRIDGE_PLUGIN_DIR . 'includes/class-claimbridge-autoloader.php';
ClaimBridge_Autoloader::register( CLAIMBRIDGE_PLUGIN_DIR . 'includes/' );

add_action( 'before_woocommerce_init', array( 'ClaimBridge_Plugin', 'declare_compatibility' ) );
add_action( 'plugins_loaded', array( 'ClaimBridge_Plugin', 'boot' ), 11 );
