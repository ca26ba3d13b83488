/**
 * "Kauf auf Rechnung" in the checkout block. Offered only while the Store API cart does not list it in
 * extensions.claimbridge.hidden_payment_methods (ClaimBridge's decision for this buyer, recomputed by the
 * server whenever the address or the cart changes). Placement is checked again on the server.
 */
( function ( registry, settings, element, entities ) {
	'use strict';
	var data = settings.getSetting( 'claimbridge_invoice_data', {} );
	var title = entities.decodeEntities( data.title || '' );

	function Content() {
		return element.createElement(
			'div',
			null,
			element.createElement( 'p', null, entities.decodeEntities( data.description || '' ) ),
			element.createElement( 'p', { className: 'claimbridge-credit-check-notice' }, data.creditCheckNotice || '' )
		);
	}

	function canMakePayment( args ) {
		var extensions = ( args && args.cart && args.cart.extensions ) || ( args && args.cartData && args.cartData.extensions ) || {};
		var hidden = ( extensions.claimbridge && extensions.claimbridge.hidden_payment_methods ) || [];
		return hidden.indexOf( 'claimbridge_invoice' ) === -1;
	}

	registry.registerPaymentMethod( {
		name: 'claimbridge_invoice',
		label: element.createElement( 'span', null, title ),
		ariaLabel: title,
		content: element.createElement( Content ),
		edit: element.createElement( Content ),
		canMakePayment: canMakePayment,
		supports: { features: data.supports || [ 'products' ] },
	} );
} )( window.wc.wcBlocksRegistry, window.wc.wcSettings, window.wp.element, window.wp.htmlEntities );
