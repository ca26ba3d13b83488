<?php
/**
 * The backend's routes inside real WooCommerce: real orders (CRUD), real WC_Email, wp_mail's answer.
 *
 * @package ClaimBridge\Tests
 */

declare(strict_types=1);

/**
 * Notices and dunning notices against WooCommerce itself.
 */
class WooRoutesTest extends ClaimBridge_Rest_Test_Case {

	/**
	 * Mails handed to wp_mail.
	 *
	 * @var array[]
	 */
	private $mails = array();

	/**
	 * What wp_mail answers (null: really try PHPMailer).
	 *
	 * @var bool|null
	 */
	private $mail_answer = true;

	/**
	 * The order.
	 *
	 * @var WC_Order
	 */
	private $order;

	protected function setUp(): void {
		parent::setUp();
		$this->login( 'administrator' );
		$this->order = wc_create_order();
		$this->order->set_billing_email( 'anna.schmidt@example.org' );
		$this->order->set_payment_method( 'claimbridge_invoice' );
		$this->order->set_total( '12.34' );
		$this->order->save();
		$this->serve( new ClaimBridge_Woo_Orders() );
		add_filter( 'pre_wp_mail', array( $this, 'capture_mail' ), 10, 2 );
	}

	protected function tearDown(): void {
		remove_filter( 'pre_wp_mail', array( $this, 'capture_mail' ), 10 );
		parent::tearDown();
	}

	/**
	 * Record a mail and answer as configured (pre_wp_mail, WordPress 5.7+).
	 *
	 * @param null|bool $short_circuit Earlier answer.
	 * @param array     $atts          to, subject, message, headers, attachments.
	 * @return bool
	 */
	public function capture_mail( $short_circuit, $atts ) {
		$this->mails[] = $atts;
		return $this->mail_answer;
	}

	public function test_notice_becomes_a_private_order_note_once(): void {
		$body  = array(
			'order_id'        => $this->order->get_id(),
			'message'         => 'Zahlung über 12,34 EUR verbucht.',
			'level'           => 'info',
			'idempotency_key' => 'pay-1',
		);
		$first = $this->call( 'POST', 'notices', $body );
		$this->assertSame( 201, $first->get_status() );
		$this->assertSame( 200, $this->call( 'POST', 'notices', $body )->get_status() );
		$notes = wc_get_order_notes( array( 'order_id' => $this->order->get_id() ) );
		$this->assertCount( 1, $notes );
		$this->assertSame( $first->get_data()['id'], $notes[0]->id );
		$this->assertFalse( $notes[0]->customer_note );
	}

	public function test_dunning_notice_goes_out_as_the_woocommerce_email_once(): void {
		$notice = self::dunning_notice( array( 'order_id' => $this->order->get_id() ) );
		$first  = $this->call( 'POST', 'dunning-notices', $notice );
		$this->assertSame( 201, $first->get_status(), wp_json_encode( $first->get_data() ) );
		$this->assertCount( 1, $this->mails );
		$this->assertSame( 'anna.schmidt@example.org', $this->mails[0]['to'] );
		$this->assertSame( 'Zahlungserinnerung zu Bestellung 42', $this->mails[0]['subject'] );
		$this->assertStringContainsString( '12,34 EUR', $this->mails[0]['message'] );
		$this->assertSame( 200, $this->call( 'POST', 'dunning-notices', $notice )->get_status() );
		$this->assertCount( 1, $this->mails, 'nothing is sent twice' );
		$emails = WC()->mailer()->get_emails();
		$this->assertArrayHasKey( 'ClaimBridge_Email_Dunning_Notice', $emails );
		$this->assertSame( 'claimbridge_dunning_notice', $emails['ClaimBridge_Email_Dunning_Notice']->id );
	}

	public function test_refused_mail_answers_502(): void {
		$this->mail_answer = false;
		$response          = $this->call( 'POST', 'dunning-notices', self::dunning_notice( array( 'order_id' => $this->order->get_id() ) ) );
		$this->assertSame( 502, $response->get_status() );
		$this->assertSame( 'claimbridge_mail_failed', $response->get_data()['code'] );
	}

	public function test_email_disabled_by_the_merchant_answers_409(): void {
		update_option( 'woocommerce_claimbridge_dunning_notice_settings', array( 'enabled' => 'no' ) );
		$emails = WC()->mailer()->get_emails();
		$emails['ClaimBridge_Email_Dunning_Notice']->init_settings();
		$emails['ClaimBridge_Email_Dunning_Notice']->enabled = 'no';
		$response = $this->call( 'POST', 'dunning-notices', self::dunning_notice( array( 'order_id' => $this->order->get_id() ) ) );
		$this->assertSame( 409, $response->get_status() );
		$this->assertSame( array(), $this->mails );
		$emails['ClaimBridge_Email_Dunning_Notice']->enabled = 'yes';
	}
}
