<?php
/**
 * One answer of the checkout gate.
 *
 * @package ClaimBridge
 */

declare(strict_types=1);

defined( 'ABSPATH' ) || exit;

/**
 * Which gateways to hide and why: the backend's decision, or the fail mode's when it gave none.
 */
final class ClaimBridge_Gate_Decision {

	/**
	 * Gateway ids to hide.
	 *
	 * @var string[]
	 */
	public $hidden;

	/**
	 * Backend decision: accept, review, decline; "unavailable" when the backend gave none.
	 *
	 * @var string
	 */
	public $outcome;

	/**
	 * Risk check id for the order, or null.
	 *
	 * @var string|null
	 */
	public $check_id;

	/**
	 * Whether the buyer had chosen an invoice-like method (the credit bureau may have been asked).
	 *
	 * @var bool
	 */
	public $chosen;

	/**
	 * Build a decision.
	 *
	 * @param string[]    $hidden   Gateway ids to hide.
	 * @param string      $outcome  accept, review, decline or unavailable.
	 * @param string|null $check_id Risk check id.
	 * @param bool        $chosen   Decided after the buyer chose invoice.
	 */
	public function __construct( array $hidden, string $outcome, ?string $check_id, bool $chosen ) {
		$this->hidden   = array_values( array_unique( $hidden ) );
		$this->outcome  = $outcome;
		$this->check_id = $check_id;
		$this->chosen   = $chosen;
	}

	/**
	 * Tell whether a gateway is hidden.
	 *
	 * @param string $gateway_id Gateway id.
	 */
	public function hides( string $gateway_id ): bool {
		return in_array( $gateway_id, $this->hidden, true );
	}

	/**
	 * The decision as an array (for the session).
	 */
	public function to_array(): array {
		return array(
			'hidden'   => $this->hidden,
			'outcome'  => $this->outcome,
			'check_id' => $this->check_id,
			'chosen'   => $this->chosen,
		);
	}

	/**
	 * Rebuild a decision from the session.
	 *
	 * @param array $data Array from to_array().
	 */
	public static function from_array( array $data ): ClaimBridge_Gate_Decision {
		return new self( (array) ( $data['hidden'] ?? array() ), (string) ( $data['outcome'] ?? 'unavailable' ), isset( $data['check_id'] ) ? (string) $data['check_id'] : null, ! empty( $data['chosen'] ) );
	}
}
