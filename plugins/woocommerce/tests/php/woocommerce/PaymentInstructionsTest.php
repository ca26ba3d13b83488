<?php
/**
 * "Kauf auf Rechnung" payment instructions inside real WooCommerce, with the real backend's GiroCode.
 *
 * @package ClaimBridge\Tests
 */

declare(strict_types=1);

/**
 * The thank-you page and the buyer's order e-mail: text, account, reference and the GiroCode image.
 */
class PaymentInstructionsTest extends ClaimBridge_Test_Case {

	const IBAN = 'DE89370400440532013000';

	/**
	 * An on-hold invoice order.
	 *
	 * @var WC_Order
	 */
	private $order;

	/**
	 * What phpmailer_init saw: [body, attachments].
	 *
	 * @var array|null
	 */
	private $mailed;

	protected function setUp(): void {
		parent::setUp();
		( new ClaimBridge_Settings() )->save(
			array(
				'url'           => (string) getenv( 'CLAIMBRIDGE_TEST_BACKEND_URL' ),
				'client_id'     => (string) getenv( 'CLAIMBRIDGE_TEST_CLIENT_ID' ),
				'client_secret' => (string) getenv( 'CLAIMBRIDGE_TEST_CLIENT_SECRET' ),
			)
		);
		ClaimBridge_Plugin::instance()->checkout_settings->forget();
		$this->order = wc_create_order();
		$this->order->set_payment_method( ClaimBridge_Gateway_Invoice::ID );
		$this->order->set_billing_email( 'anna.schmidt@example.org' );
		$this->order->set_currency( 'EUR' );
		$this->order->set_total( '24.90' );
		$this->order->set_status( 'on-hold' );
		$this->order->save();
	}

	private function set_account(): void {
		$details               = array(
			'account_holder' => 'Kaffeerösterei Süd GmbH',
			'iban'           => self::IBAN,
		);
		list( $status, $body ) = self::backend( 'PUT', '/api/v1/dunning-settings', array( 'payment_details' => $details ) );
		$this->assertSame( 200, $status, wp_json_encode( $body ) );
	}

	private function thankyou_page(): string {
		ob_start();
		WC()->payment_gateways()->payment_gateways()[ ClaimBridge_Gateway_Invoice::ID ]->render_thankyou_instructions( $this->order->get_id() );
		return (string) ob_get_clean();
	}

	public function test_thankyou_page_tells_amount_account_reference_and_shows_the_backends_girocode(): void {
		$this->set_account();
		$html = $this->thankyou_page();
		$this->assertStringContainsString( 'Please transfer 24.90 EUR by', $html );
		$this->assertStringContainsString( 'IBAN: DE89 3704 0044 0532 0130 00', $html );
		$this->assertStringContainsString( 'Payment reference: ' . $this->order->get_order_number(), $html );
		$this->assertSame( 1, preg_match( '~data-girocode="([^"]*)".*?<img src="data:image/png;base64,([A-Za-z0-9+/=]+)" alt="GiroCode" width="(\d+)" height="(\d+)"~s', $html, $found ) );
		$this->assertSame(
			array( 'BCD', '002', '1', 'SCT', 'COBADEFFXXX', 'Kaffeerösterei Süd GmbH', self::IBAN, 'EUR24.90', '', '', $this->order->get_order_number() ),
			explode( "\n", html_entity_decode( $found[1], ENT_QUOTES ) )
		);
		$png = base64_decode( $found[2], true );
		$this->assertSame( "\x89PNG\r\n\x1a\n", substr( $png, 0, 8 ) );
		$this->assertSame( array( (int) $found[3], (int) $found[4] ), array_values( unpack( 'N2', substr( $png, 16, 8 ) ) ) );

		$asked = count( $this->requests_to( '/api/v1/girocodes' ) );
		$this->assertSame( $html, $this->thankyou_page(), 'the same code on every view' );
		$this->assertCount( $asked, $this->requests_to( '/api/v1/girocodes' ), 'kept on the order, not asked again' );
	}

	public function test_the_due_date_follows_the_merchants_payment_term_in_the_backend(): void {
		$settings = ClaimBridge_Plugin::instance()->checkout_settings;
		$this->order->set_date_created( '2026-03-02T10:00:00+00:00' );
		$this->order->save();
		try {
			list( $status, $body ) = self::backend( 'PUT', '/api/v1/claim-settings', array( 'payment_terms_days' => 30 ) );
			$this->assertSame( 200, $status, wp_json_encode( $body ) );
			$settings->forget(); // As when the cached copy expires.
			$asked = count( $this->requests_to( '/api/v1/checkout-settings' ) );
			$this->assertSame( '2026-04-01', ClaimBridge_Payment_Instructions::for_order( $this->order )->due_date );
			$this->assertStringContainsString( 'Please transfer 24.90 EUR by ' . date_i18n( get_option( 'date_format' ), strtotime( '2026-04-01 12:00' ) ), $this->thankyou_page() );
			$this->assertCount( $asked + 1, $this->requests_to( '/api/v1/checkout-settings' ), 'asked once, then cached' );

			self::backend( 'PUT', '/api/v1/claim-settings', array( 'payment_terms_days' => 21 ) );
			$this->assertSame( '2026-04-01', ClaimBridge_Payment_Instructions::for_order( $this->order )->due_date, 'cached for a few minutes' );
			$settings->forget();
			$this->assertSame( '2026-03-23', ClaimBridge_Payment_Instructions::for_order( $this->order )->due_date );
		} finally {
			self::backend( 'PUT', '/api/v1/claim-settings', array( 'payment_terms_days' => 14 ) );
		}
	}

	public function test_when_the_backend_cannot_be_asked_the_buyer_is_told_the_account_follows_without_a_code(): void {
		$this->set_account();
		( new ClaimBridge_Settings() )->save( array( 'client_secret' => 'not-the-secret' ) );
		ClaimBridge_Plugin::instance()->backend->forget_token();
		$this->order->delete_meta_data( ClaimBridge_Payment_Instructions::GIROCODE_META ); // From the on-hold e-mail.
		$this->order->save();
		$html = $this->thankyou_page();
		$this->assertStringContainsString( 'Please transfer 24.90 EUR by', $html );
		$this->assertStringContainsString( 'You will receive the account details with your invoice.', $html );
		$this->assertStringNotContainsString( '<img', $html );
		$this->assertSame( '', $this->order->get_meta( ClaimBridge_Payment_Instructions::GIROCODE_META ) );
	}

	/**
	 * Record what PHPMailer would send, and point it at a port nothing listens on (wp_mail then fails).
	 *
	 * @param PHPMailer\PHPMailer\PHPMailer $mailer Mailer.
	 */
	public function capture_mailer( $mailer ): void {
		$this->mailed = array( $mailer->Body, $mailer->getAttachments() ); // phpcs:ignore WordPress.NamingConventions.ValidVariableName.UsedPropertyNotSnakeCase
		$mailer->isSMTP();
		$mailer->Host = '127.0.0.1'; // phpcs:ignore WordPress.NamingConventions.ValidVariableName.UsedPropertyNotSnakeCase
		$mailer->Port = 9; // phpcs:ignore WordPress.NamingConventions.ValidVariableName.UsedPropertyNotSnakeCase
	}

	private static function mailer_hooks(): int {
		global $wp_filter;
		return isset( $wp_filter['phpmailer_init'] ) ? count( $wp_filter['phpmailer_init']->callbacks, COUNT_RECURSIVE ) : 0;
	}

	public function test_order_email_embeds_the_girocode_as_an_inline_image_part(): void {
		$this->set_account();
		$hooks = self::mailer_hooks();
		add_action( 'phpmailer_init', array( $this, 'capture_mailer' ), 99 );
		WC()->mailer()->get_emails()['WC_Email_Customer_On_Hold_Order']->trigger( $this->order->get_id(), $this->order );
		remove_action( 'phpmailer_init', array( $this, 'capture_mailer' ), 99 );
		$this->assertNotNull( $this->mailed, 'the on-hold e-mail went to wp_mail' );
		list( $body, $attachments ) = $this->mailed;
		$this->assertStringContainsString( 'Payment reference: ' . $this->order->get_order_number(), $body );
		$this->assertStringContainsString( 'src="cid:claimbridge-girocode"', $body );
		$inline = array_values(
			array_filter(
				$attachments,
				static function ( $part ) {
					return 'claimbridge-girocode' === $part[7] && 'inline' === $part[6];
				}
			)
		);
		$this->assertCount( 1, $inline );
		$kept = json_decode( (string) wc_get_order( $this->order->get_id() )->get_meta( ClaimBridge_Payment_Instructions::GIROCODE_META ), true );
		$this->assertSame( base64_decode( $kept['png'], true ), $inline[0][0] );
		$this->assertSame( $hooks, self::mailer_hooks(), 'the image goes into that one mail only' );
	}
}
