<?php
/**
 * How a buyer pays an invoice order: due date, account, reference and the EPC GiroCode payload.
 *
 * @package ClaimBridge
 */

declare(strict_types=1);

defined( 'ABSPATH' ) || exit;

/**
 * Payment instructions for one order. The account and payment term are the merchant's settings in the
 * backend (GET /api/v1/merchant, cached for an hour); the reference is the order number, which the
 * backend's payment matching recognises on the bank statement.
 */
class ClaimBridge_Payment_Instructions {

	const MERCHANT_CACHE     = 'claimbridge_merchant_settings';
	const DEFAULT_TERMS_DAYS = 14;

	/**
	 * Amount as a decimal string.
	 *
	 * @var string
	 */
	public $amount;

	/**
	 * Currency code.
	 *
	 * @var string
	 */
	public $currency;

	/**
	 * Due date (Y-m-d).
	 *
	 * @var string
	 */
	public $due_date;

	/**
	 * Payment reference.
	 *
	 * @var string
	 */
	public $reference;

	/**
	 * Account holder, IBAN and BIC; empty strings when unknown.
	 *
	 * @var array{account_holder: string, iban: string, bic: string}
	 */
	public $account;

	/**
	 * Build instructions.
	 *
	 * @param string $amount    Amount.
	 * @param string $currency  Currency.
	 * @param string $due_date  Y-m-d.
	 * @param string $reference Reference.
	 * @param array  $account   account_holder, iban, bic.
	 */
	public function __construct( string $amount, string $currency, string $due_date, string $reference, array $account ) {
		$this->amount    = $amount;
		$this->currency  = $currency;
		$this->due_date  = $due_date;
		$this->reference = $reference;
		$this->account   = array(
			'account_holder' => (string) ( $account['account_holder'] ?? '' ),
			'iban'           => strtoupper( str_replace( ' ', '', (string) ( $account['iban'] ?? '' ) ) ),
			'bic'            => strtoupper( (string) ( $account['bic'] ?? '' ) ),
		);
	}

	/**
	 * Instructions for an order, with the merchant's account and payment term from the backend.
	 *
	 * @param WC_Order $order Order.
	 */
	public static function for_order( $order ): ClaimBridge_Payment_Instructions {
		$merchant = self::merchant_settings();
		$days     = (int) ( $merchant['payment_terms_days'] ?? self::DEFAULT_TERMS_DAYS );
		$created  = $order->get_date_created();
		$ordered  = $created ? $created->getTimestamp() : time();
		$due      = ( new DateTimeImmutable( '@' . $ordered ) )->setTimezone( new DateTimeZone( 'Europe/Berlin' ) )->modify( '+' . $days . ' days' );
		return new self(
			wc_format_decimal( $order->get_total( 'edit' ), 2 ),
			(string) $order->get_currency(),
			$due->format( 'Y-m-d' ),
			(string) $order->get_order_number(),
			(array) ( $merchant['dunning']['payment_details'] ?? array() )
		);
	}

	/**
	 * The merchant's settings from the backend, cached; an empty array when unknown.
	 */
	private static function merchant_settings(): array {
		$cached = get_transient( self::MERCHANT_CACHE );
		if ( is_array( $cached ) ) {
			return $cached;
		}
		$plugin = ClaimBridge_Plugin::instance();
		if ( null === $plugin ) {
			return array();
		}
		try {
			$merchant = $plugin->backend->get_merchant();
			$settings = (array) ( $merchant['settings'] ?? array() );
			set_transient( self::MERCHANT_CACHE, $settings, HOUR_IN_SECONDS );
			return $settings;
		} catch ( ClaimBridge_Backend_Exception $error ) {
			ClaimBridge_Risk_Gate::log( $error->getMessage() );
			return array();
		}
	}

	/**
	 * Tell whether the account is known (else the buyer is told the details follow with the invoice).
	 */
	public function has_account(): bool {
		return '' !== $this->account['iban'] && '' !== $this->account['account_holder'];
	}

	/**
	 * The EPC QR payload ("GiroCode", EPC069-12 version 002), or '' when it cannot be built.
	 */
	public function girocode_payload(): string {
		if ( ! $this->has_account() || 'EUR' !== $this->currency || (float) $this->amount < 0.01 ) {
			return '';
		}
		return implode(
			"\n",
			array(
				'BCD',
				'002',
				'1',
				'SCT',
				$this->account['bic'],
				mb_substr( $this->account['account_holder'], 0, 70 ),
				$this->account['iban'],
				'EUR' . number_format( (float) $this->amount, 2, '.', '' ),
				'',
				'',
				mb_substr( $this->reference, 0, 140 ),
			)
		);
	}

	/**
	 * Instructions as plain text lines.
	 */
	public function to_text(): string {
		$lines = array(
			/* translators: 1: amount with currency, 2: due date */
			sprintf( __( 'Please transfer %1$s by %2$s.', 'claimbridge' ), $this->amount . ' ' . $this->currency, $this->due_date_label() ),
		);
		if ( $this->has_account() ) {
			/* translators: %s: account holder */
			$lines[] = sprintf( __( 'Account holder: %s', 'claimbridge' ), $this->account['account_holder'] );
			/* translators: %s: IBAN */
			$lines[] = sprintf( __( 'IBAN: %s', 'claimbridge' ), trim( chunk_split( $this->account['iban'], 4, ' ' ) ) );
			if ( '' !== $this->account['bic'] ) {
				/* translators: %s: BIC */
				$lines[] = sprintf( __( 'BIC: %s', 'claimbridge' ), $this->account['bic'] );
			}
		} else {
			$lines[] = __( 'You will receive the account details with your invoice.', 'claimbridge' );
		}
		/* translators: %s: payment reference */
		$lines[] = sprintf( __( 'Payment reference: %s', 'claimbridge' ), $this->reference );
		return implode( "\n", $lines );
	}

	/**
	 * Instructions as HTML, with the GiroCode payload for banking apps that read it.
	 */
	public function to_html(): string {
		$html = '<section class="claimbridge-payment-instructions"><h2>' . esc_html__( 'Payment instructions', 'claimbridge' ) . '</h2><p>';
		$html .= implode( '<br>', array_map( 'esc_html', explode( "\n", $this->to_text() ) ) ) . '</p>';
		$payload = $this->girocode_payload();
		if ( '' !== $payload ) {
			$html .= '<p class="claimbridge-girocode" data-girocode="' . esc_attr( $payload ) . '">' . esc_html__( 'GiroCode: scan the code in your banking app to fill in the transfer.', 'claimbridge' ) . '</p>';
		}
		return $html . '</section>';
	}

	/**
	 * Due date in the site's date format.
	 */
	private function due_date_label(): string {
		$date = DateTimeImmutable::createFromFormat( '!Y-m-d', $this->due_date, new DateTimeZone( 'Europe/Berlin' ) );
		return $date ? date_i18n( (string) get_option( 'date_format', 'Y-m-d' ), $date->getTimestamp() + $date->getOffset() ) : $this->due_date;
	}
}
