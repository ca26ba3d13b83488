<?php
/**
 * The backend's dunning notices as a WooCommerce e-mail.
 *
 * @package ClaimBridge
 */

declare(strict_types=1);

defined( 'ABSPATH' ) || exit;

/**
 * "ClaimBridge dunning notice" under WooCommerce → Settings → Emails: the merchant may disable it, change the
 * subject (placeholder {notice_subject} is the backend's subject) and the e-mail type; the body is the text
 * the backend rendered, so amounts and deadlines stay exactly what the backend computed.
 */
class ClaimBridge_Email_Dunning_Notice extends WC_Email {

	/**
	 * The notice being sent.
	 *
	 * @var array
	 */
	private $notice = array();

	/**
	 * Describe the e-mail.
	 */
	public function __construct() {
		$this->id             = 'claimbridge_dunning_notice';
		$this->customer_email = true;
		$this->title          = __( 'ClaimBridge dunning notice', 'claimbridge' );
		$this->description    = __( 'Payment reminders, dunning notices and final notices for unpaid invoice orders, written by ClaimBridge.', 'claimbridge' );
		$this->placeholders   = array(
			'{notice_subject}' => '',
			'{order_number}'   => '',
		);
		parent::__construct();
	}

	/**
	 * Default subject: the backend's own.
	 */
	public function get_default_subject() {
		return '{notice_subject}';
	}

	/**
	 * Default heading: the backend's subject too.
	 */
	public function get_default_heading() {
		return '{notice_subject}';
	}

	/**
	 * Send one notice for an order; true only when wp_mail accepted it.
	 *
	 * @param WC_Order $order  The order.
	 * @param array    $notice The backend's notice (recipient, subject, text, html, ...).
	 */
	public function trigger( $order, array $notice ): bool {
		$this->setup_locale();
		$this->object                            = $order;
		$this->notice                            = $notice;
		$this->recipient                         = (string) ( $notice['recipient']['email'] ?? '' );
		$this->placeholders['{notice_subject}']  = (string) ( $notice['subject'] ?? '' );
		$this->placeholders['{order_number}']    = $order ? (string) $order->get_order_number() : '';
		$sent                                    = false;
		if ( $this->is_enabled() && '' !== $this->get_recipient() ) {
			$sent = (bool) $this->send( $this->get_recipient(), $this->get_subject(), $this->get_content(), $this->get_headers(), $this->get_attachments() );
		}
		$this->restore_locale();
		return $sent;
	}

	/**
	 * HTML body: the backend's HTML.
	 */
	public function get_content_html() {
		return (string) ( $this->notice['html'] ?? '' );
	}

	/**
	 * Plain-text body: the backend's text.
	 */
	public function get_content_plain() {
		return (string) ( $this->notice['text'] ?? '' );
	}
}
