<?php
/**
 * A failed call to the ClaimBridge backend.
 *
 * @package ClaimBridge
 */

declare(strict_types=1);

defined( 'ABSPATH' ) || exit;

/**
 * Carries a message for the log and a translated message for people, plus the backend's status and code.
 */
class ClaimBridge_Backend_Exception extends Exception {

	/**
	 * Translated message for the merchant.
	 *
	 * @var string
	 */
	private $user_message;

	/**
	 * HTTP status, or 0 when no answer arrived.
	 *
	 * @var int
	 */
	private $status;

	/**
	 * The backend's error code (or the transport's).
	 *
	 * @var string
	 */
	private $error_code;

	/**
	 * Build the exception.
	 *
	 * @param string $log_message  What happened, for the log (never secrets).
	 * @param string $user_message What to tell the merchant.
	 * @param int    $status       HTTP status, 0 without an answer.
	 * @param string $error_code   Machine code.
	 */
	public function __construct( string $log_message, string $user_message, int $status = 0, string $error_code = '' ) {
		parent::__construct( $log_message );
		$this->user_message = $user_message;
		$this->status       = $status;
		$this->error_code   = $error_code;
	}

	/**
	 * Translated message for the merchant.
	 */
	public function get_user_message(): string {
		return $this->user_message;
	}

	/**
	 * HTTP status, 0 when the backend did not answer.
	 */
	public function get_status(): int {
		return $this->status;
	}

	/**
	 * The backend's error code.
	 */
	public function get_error_code(): string {
		return $this->error_code;
	}
}
