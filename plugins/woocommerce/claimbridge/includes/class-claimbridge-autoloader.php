<?php
/**
 * Autoloader: ClaimBridge_Risk_Gate lives in includes/class-claimbridge-risk-gate.php.
 *
 * @package ClaimBridge
 */

declare(strict_types=1);

defined( 'ABSPATH' ) || exit;

/**
 * Loads the plugin's classes from their files, one class per file, named after the class.
 */
final class ClaimBridge_Autoloader {

	/**
	 * Directory holding the class files.
	 *
	 * @var string
	 */
	private static $dir = '';

	/**
	 * Register the autoloader for classes prefixed ClaimBridge_.
	 *
	 * @param string $dir Directory of the class files, with a trailing slash.
	 */
	public static function register( string $dir ): void {
		self::$dir = $dir;
		spl_autoload_register( array( __CLASS__, 'load' ) );
	}

	/**
	 * Load one class if it is ours.
	 *
	 * @param string $class_name Class being looked up.
	 */
	public static function load( string $class_name ): void {
		if ( 0 !== strpos( $class_name, 'ClaimBridge_' ) ) {
			return;
		}
		$file = self::$dir . 'class-' . str_replace( '_', '-', strtolower( $class_name ) ) . '.php';
		if ( is_readable( $file ) ) {
			require_once $file;
		}
	}
}
