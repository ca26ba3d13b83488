<?php
/**
 * How a buyer pays an invoice order: due date, account, reference and the EPC GiroCode.
 *
 * @package ClaimBridge
 */

declare(strict_types=1);

defined( 'ABSPATH' ) || exit;

/**
 * Payment instructions for one order. The account and the EPC GiroCode come from the backend
 * (POST /api/v1/girocodes, kept on the order), which builds every GiroCode ClaimBridge sends; the payment term
 * from the merchant's settings (ClaimBridge_Checkout_Settings), the one the backend dates the receivable with;
 * the reference is the order number,
 * which the backend's payment matching recognises on the bank statement.
 */
class ClaimBridge_Payment_Instructions {

	const GIROCODE_META = '_claimbridge_girocode';
	const GIROCODE_CID  = 'claimbridge-girocode';

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
	 * The backend's GiroCode for this transfer (payload and base64 PNG), or null when there is none.
	 *
	 * @var array{payload: string, png: string}|null
	 */
	public $girocode;

	/**
	 * Build instructions.
	 *
	 * @param string $amount    Amount.
	 * @param string $currency  Currency.
	 * @param string $due_date  Y-m-d.
	 * @param string $reference Reference.
	 * @param array  $account   account_holder, iban, bic.
	 * @param array|null $girocode The backend's GiroCode (payload, png), if any.
	 */
	public function __construct( string $amount, string $currency, string $due_date, string $reference, array $account, ?array $girocode = null ) {
		$this->amount    = $amount;
		$this->currency  = $currency;
		$this->due_date  = $due_date;
		$this->reference = $reference;
		$this->account   = array(
			'account_holder' => (string) ( $account['account_holder'] ?? '' ),
			'iban'           => strtoupper( str_replace( ' ', '', (string) ( $account['iban'] ?? '' ) ) ),
			'bic'            => strtoupper( (string) ( $account['bic'] ?? '' ) ),
		);
		$valid          = is_array( $girocode ) && is_string( $girocode['payload'] ?? null ) && is_string( $girocode['png'] ?? null ) && 1 === preg_match( '~^[A-Za-z0-9+/]+={0,2}$~', $girocode['png'] );
		$this->girocode = $valid ? array( 'payload' => $girocode['payload'], 'png' => $girocode['png'] ) : null;
	}

	/**
	 * Instructions for an order, with the merchant's account and payment term from the backend.
	 *
	 * @param WC_Order $order Order.
	 */
	public static function for_order( $order ): ClaimBridge_Payment_Instructions {
		$plugin    = ClaimBridge_Plugin::instance();
		$days      = null !== $plugin ? $plugin->checkout_settings->payment_terms_days() : ClaimBridge_Checkout_Settings::DEFAULT_TERMS_DAYS;
		$created   = $order->get_date_created();
		$ordered   = $created ? $created->getTimestamp() : time();
		$due       = ( new DateTimeImmutable( '@' . $ordered ) )->setTimezone( new DateTimeZone( 'Europe/Berlin' ) )->modify( '+' . $days . ' days' );
		$amount    = wc_format_decimal( $order->get_total( 'edit' ), 2 );
		$reference = (string) $order->get_order_number();
		$girocode  = 'EUR' === $order->get_currency() ? self::girocode_for( $order, $amount, $reference ) : null;
		// The text names the account the code pays into: the backend's, sent beside the code.
		return new self( $amount, (string) $order->get_currency(), $due->format( 'Y-m-d' ), $reference, (array) ( $girocode['account'] ?? array() ), $girocode );
	}

	/**
	 * The order's GiroCode: kept on the order once the backend made it (the thank-you page and every e-mail
	 * show the same code), asked again when the amount or reference changed; null when the backend has none.
	 *
	 * @param WC_Order $order     Order.
	 * @param string   $amount    Amount.
	 * @param string   $reference Payment reference.
	 */
	private static function girocode_for( $order, string $amount, string $reference ): ?array {
		$kept = json_decode( (string) $order->get_meta( self::GIROCODE_META ), true );
		if ( is_array( $kept ) && ( $kept['amount'] ?? '' ) === $amount && ( $kept['reference'] ?? '' ) === $reference ) {
			return $kept;
		}
		$plugin = ClaimBridge_Plugin::instance();
		if ( null === $plugin ) {
			return null;
		}
		try {
			$code = $plugin->backend->create_girocode( $amount, $reference );
		} catch ( ClaimBridge_Backend_Exception $error ) {
			ClaimBridge_Risk_Gate::log( $error->getMessage() );
			return null;
		}
		$kept = array(
			'amount'    => $amount,
			'reference' => $reference,
			'payload'   => (string) ( $code['payload'] ?? '' ),
			'png'       => (string) ( $code['png'] ?? '' ),
			'account'   => (array) ( $code['account'] ?? array() ),
		);
		$order->update_meta_data( self::GIROCODE_META, wp_json_encode( $kept ) );
		$order->save_meta_data();
		return $kept;
	}

	/**
	 * Tell whether the account is known (else the buyer is told the details follow with the invoice).
	 */
	public function has_account(): bool {
		return '' !== $this->account['iban'] && '' !== $this->account['account_holder'];
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
	 * Instructions as HTML, with the GiroCode image when there is one.
	 *
	 * @param string $image_src Where the image comes from: '' for the PNG inline (a data: URL, for pages);
	 *                          e-mails pass 'cid:' . GIROCODE_CID and embed the PNG (embed_girocode_in_next_mail).
	 */
	public function to_html( string $image_src = '' ): string {
		$html  = '<section class="claimbridge-payment-instructions"><h2>' . esc_html__( 'Payment instructions', 'claimbridge' ) . '</h2><p>';
		$html .= implode( '<br>', array_map( 'esc_html', explode( "\n", $this->to_text() ) ) ) . '</p>';
		if ( null !== $this->girocode ) {
			$src   = '' !== $image_src ? $image_src : 'data:image/png;base64,' . $this->girocode['png'];
			$html .= '<p class="claimbridge-girocode" data-girocode="' . esc_attr( $this->girocode['payload'] ) . '">';
			$png   = (string) base64_decode( $this->girocode['png'], true );
			$size  = strlen( $png ) >= 24 ? unpack( 'Nwidth/Nheight', substr( $png, 16, 8 ) ) : array(); // The PNG's IHDR.
			$html .= '<img src="' . esc_attr( $src ) . '" alt="' . esc_attr__( 'GiroCode', 'claimbridge' ) . '" width="' . (int) ( $size['width'] ?? 0 ) . '" height="' . (int) ( $size['height'] ?? 0 ) . '"><br>';
			$html .= esc_html__( 'GiroCode: scan the code in your banking app to fill in the transfer.', 'claimbridge' ) . '</p>';
		}
		return $html . '</section>';
	}

	/**
	 * Filter instructions HTML as posts are, letting the GiroCode's data: and cid: image sources through.
	 *
	 * @param string $html HTML from to_html().
	 */
	public static function kses( string $html ): string {
		return wp_kses( $html, 'post', array_merge( wp_allowed_protocols(), array( 'data', 'cid' ) ) );
	}

	/**
	 * Attach the GiroCode PNG to the next mail WordPress sends, as the inline part 'cid:' . GIROCODE_CID names.
	 *
	 * Called while WooCommerce renders an order e-mail, which it hands to wp_mail right after; the hook goes
	 * away once that mail went out or failed.
	 */
	public function embed_girocode_in_next_mail(): void {
		if ( null === $this->girocode ) {
			return;
		}
		$png    = (string) base64_decode( $this->girocode['png'], true );
		$embed  = static function ( $mailer ) use ( $png ) {
			$mailer->addStringEmbeddedImage( $png, self::GIROCODE_CID, 'girocode.png', 'base64', 'image/png' );
		};
		$forget = static function () use ( $embed, &$forget ) {
			remove_action( 'phpmailer_init', $embed );
			remove_action( 'woocommerce_email_sent', $forget );
			remove_action( 'wp_mail_failed', $forget );
		};
		add_action( 'phpmailer_init', $embed );
		add_action( 'woocommerce_email_sent', $forget );
		add_action( 'wp_mail_failed', $forget );
	}

	/**
	 * Due date in the site's date format.
	 */
	private function due_date_label(): string {
		$date = DateTimeImmutable::createFromFormat( '!Y-m-d', $this->due_date, new DateTimeZone( 'Europe/Berlin' ) );
		return $date ? date_i18n( (string) get_option( 'date_format', 'Y-m-d' ), $date->getTimestamp() + $date->getOffset() ) : $this->due_date;
	}
}
