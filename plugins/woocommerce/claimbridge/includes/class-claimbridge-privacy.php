<?php
/**
 * Suggested privacy policy text.
 *
 * @package ClaimBridge
 */

declare(strict_types=1);

defined( 'ABSPATH' ) || exit;

/**
 * Adds ClaimBridge's paragraph to WordPress's privacy policy guide (Settings → Privacy).
 */
class ClaimBridge_Privacy {

	/**
	 * Register the suggested text (admin_init).
	 */
	public function add_policy_content(): void {
		if ( function_exists( 'wp_add_privacy_policy_content' ) ) {
			wp_add_privacy_policy_content( 'ClaimBridge', wp_kses_post( wpautop( self::policy_text(), false ) ) );
		}
	}

	/**
	 * The suggested text.
	 */
	public static function policy_text(): string {
		return __( 'When you check out, we send your name, e-mail address, phone number, billing and shipping address, the order total and the items in your cart to our service provider ClaimBridge, which checks whether payment by invoice can be offered (Art. 6(1)(b) and (f) GDPR). Only once you choose payment by invoice may your name, address and date of birth be passed on to a credit agency to check your identity and creditworthiness; before that choice, only our own data decides. If invoice payment is not offered, every other payment method remains available; you may ask for a person to review the decision. For unpaid invoice orders ClaimBridge sends payment reminders on our behalf and, after a final notice, may hand the claim to a debt collection agency.', 'claimbridge' );
	}
}
