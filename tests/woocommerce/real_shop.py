"""A real WordPress 6.1 + WooCommerce shop on loopback, for the suites that must hold against the real thing.

Built with the plugin's own scripts (``plugins/woocommerce/tests/bin/install-wp.sh``, ``serve-wp.sh``,
``drop-wp.sh``) from the release tree in ``CLAIMBRIDGE_WOOCOMMERCE_DIR``, with the ClaimBridge plugin active,
a REST key with Read/Write permission, and an mu-plugin for what a test shop needs: ports the backend listens on
added to ``http_allowed_safe_ports`` (as a merchant would), ``wp_mail`` answered without a mail server, and
WP-Cron off so that webhook deliveries wait in Action Scheduler until ``run_queue`` (WP-Cron's job) runs them.
``set_storage`` switches between posts storage and HPOS (``woocommerce_custom_orders_table_enabled``).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
from werkzeug.wrappers import Request

REPO = Path(__file__).resolve().parents[2]
BIN = REPO / "plugins" / "woocommerce" / "tests" / "bin"
PLUGIN = REPO / "plugins" / "woocommerce" / "claimbridge"
WOOCOMMERCE_DIR_ENV = "CLAIMBRIDGE_WOOCOMMERCE_DIR"

MU_PLUGIN = r"""<?php
/**
 * ClaimBridge connector tests: what the shop under test is told to do.
 */
add_filter( 'http_allowed_safe_ports', function ( $ports ) {
	return array_merge( $ports, array_map( 'intval', (array) get_option( 'claimbridge_test_allowed_ports', array() ) ) );
} );
// A backend served over TLS with a throwaway self-signed certificate: trusted for that origin only.
add_filter( 'http_request_args', function ( $args, $url ) {
	$trusted = get_option( 'claimbridge_test_trusted_tls' );
	if ( is_array( $trusted ) && 0 === strpos( $url, $trusted['origin'] . '/' ) ) {
		$args['sslcertificates'] = $trusted['ca'];
	}
	return $args;
}, 10, 2 );
add_filter( 'pre_wp_mail', function ( $pre, $atts ) {
	update_option( 'claimbridge_test_last_mail', array( 'to' => $atts['to'], 'subject' => $atts['subject'], 'message' => $atts['message'] ), false );
	return 'yes' === get_option( 'claimbridge_test_mail_accepted', 'yes' );
}, 10, 2 );
"""

SETUP = r"""
wc_get_container()->get( Automattic\WooCommerce\Internal\DataStores\Orders\DataSynchronizer::class )->create_database_tables();
update_option( 'woocommerce_feature_custom_order_tables_enabled', 'yes' );
update_option( 'woocommerce_custom_orders_table_data_sync_enabled', 'no' );
global $wpdb;
$ck = 'ck_' . wc_rand_hash();
$cs = 'cs_' . wc_rand_hash();
$wpdb->insert( $wpdb->prefix . 'woocommerce_api_keys', array(
	'user_id' => 1, 'description' => 'ClaimBridge', 'permissions' => 'read_write',
	'consumer_key' => wc_api_hash( $ck ), 'consumer_secret' => $cs, 'truncated_key' => substr( $ck, -7 ),
) );
$product = new WC_Product_Simple();
$product->set_name( 'Kaffeemühle' );
$product->set_regular_price( '89.90' );
$product->save();
echo wp_json_encode( array( 'consumer_key' => $ck, 'consumer_secret' => $cs, 'product_id' => $product->get_id() ) );
"""


# Each row with whether WordPress protects its key (hidden from the order screen's custom fields box).
META_ROWS = r"""
global $wpdb;
$hpos = Automattic\WooCommerce\Utilities\OrderUtil::custom_orders_table_usage_is_enabled();
$table = $hpos ? $wpdb->prefix . 'wc_orders_meta' : $wpdb->postmeta;
$column = $hpos ? 'order_id' : 'post_id';
$rows = $wpdb->get_results( $wpdb->prepare( "SELECT meta_key, meta_value FROM $table WHERE $column = %d AND meta_key LIKE %s", $order_id, $wpdb->esc_like( '_claimbridge_' ) . '%' ) );
$found = array();
foreach ( $rows as $row ) {
	$found[ $row->meta_key ] = array( 'value' => $row->meta_value, 'protected' => is_protected_meta( $row->meta_key, 'post' ) );
}
echo wp_json_encode( (object) $found );
"""


def free_port() -> int:
    """Return a free loopback port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RealShop:
    """One running WooCommerce shop and PHP-side helpers to act in it as staff and WooCommerce would."""

    def __init__(self, directory: Path, url: str, keys: dict[str, Any], *, origin: str | None = None) -> None:
        self.dir = directory
        self.url = url
        self.origin = origin or url
        self.consumer_key = keys["consumer_key"]
        self.consumer_secret = keys["consumer_secret"]
        self.product_id = int(keys["product_id"])

    def credentials(self) -> dict[str, str]:
        """Return the REST key pair as the connections endpoint wants it."""
        return {"consumer_key": self.consumer_key, "consumer_secret": self.consumer_secret}

    def php(self, code: str) -> Any:
        """Run PHP inside WordPress (as the shop's admin) and return what it echoed as JSON."""
        return php_in(self.dir, self.url, code)

    # -- the shop's settings ----------------------------------------------------------------------

    def set_storage(self, storage: str) -> None:
        """Make HPOS (``hpos``) or the posts table (``posts``) the orders' storage."""
        flag = "yes" if storage == "hpos" else "no"
        self.php(f"update_option( 'woocommerce_custom_orders_table_enabled', '{flag}' ); echo 1;")

    def storage(self) -> str:
        """Return the storage WooCommerce uses for orders now."""
        return self.php(
            "echo wp_json_encode( Automattic\\WooCommerce\\Utilities\\OrderUtil::custom_orders_table_usage_is_enabled() ? 'hpos' : 'posts' );"
        )

    def allow_port(self, port: int) -> None:
        """Add ``port`` to ``http_allowed_safe_ports``, as a merchant would for a backend on another port."""
        self.php(f"update_option( 'claimbridge_test_allowed_ports', array( {int(port)} ) ); echo 1;")

    def trust_tls(self, origin: str, ca_path: str) -> None:
        """Make WordPress accept ``ca_path``'s self-signed certificate for requests to ``origin`` only."""
        trusted = json.dumps({"origin": origin, "ca": ca_path})
        self.php(
            f"update_option( 'claimbridge_test_trusted_tls', json_decode( '{trusted}', true ) ); echo 1;"
        )

    def admin_session(self) -> requests.Session:
        """Return an HTTP session logged in to wp-admin as the shop's administrator."""
        # WooCommerce sends the first admin page after its activation to its setup wizard instead.
        self.php("delete_transient( '_wc_activation_redirect' ); echo 1;")
        session = requests.Session()
        session.trust_env = False
        session.cookies.set("wordpress_test_cookie", "WP Cookie check")
        response = session.post(
            f"{self.url}/wp-login.php",
            data={"log": "admin", "pwd": "password", "wp-submit": "Log In", "testcookie": "1"},
            allow_redirects=False,
            timeout=60,
        )
        if response.status_code != 302:
            raise RuntimeError(f"wp-login.php answered {response.status_code}")
        return session

    def configure_plugin(self, backend_url: str, client_id: str, client_secret: str) -> None:
        """Give the ClaimBridge plugin its backend and client, as the settings page saves them."""
        values = json.dumps({"url": backend_url, "client_id": client_id, "client_secret": client_secret})
        self.php(f"( new ClaimBridge_Settings() )->save( json_decode( '{values}', true ) ); echo 1;")

    def set_plugin_active(self, active: bool) -> None:
        """Activate or deactivate the ClaimBridge plugin."""
        call = "activate_plugin" if active else "deactivate_plugins"
        self.php(
            f"require_once ABSPATH . 'wp-admin/includes/plugin.php'; {call}( 'claimbridge/claimbridge.php' ); echo 1;"
        )

    # -- what staff and WooCommerce do -------------------------------------------------------------

    def create_order(
        self,
        *,
        total: str = "89.90",
        payment_method: str = "invoice",
        status: str = "on-hold",
        days_ago: int = 0,
    ) -> int:
        """Place an order like a checkout with an on-hold gateway does; return its id."""
        return int(
            self.php(
                f"""
                $order = wc_create_order();
                $order->add_product( wc_get_product( {self.product_id} ), 1, array( 'subtotal' => '{total}', 'total' => '{total}' ) );
                $order->set_payment_method( '{payment_method}' );
                $order->set_payment_method_title( 'Kauf auf Rechnung' );
                $order->set_address( array(
                    'first_name' => 'Jürgen', 'last_name' => 'Müller', 'email' => 'juergen@example.org',
                    'address_1' => 'Hauptstraße 5', 'postcode' => '10115', 'city' => 'Berlin', 'country' => 'DE',
                ), 'billing' );
                $order->calculate_totals( false );
                $order->set_date_created( time() - {int(days_ago)} * DAY_IN_SECONDS );
                $order->set_status( '{status}' );
                $order->save();
                echo $order->get_id();
                """
            )
        )

    def refund(self, order_id: int, amount: str, reason: str = "Rücksendung") -> int:
        """Refund part of an order without the gateway (``wc_create_refund``, as the order screen does)."""
        return int(
            self.php(
                f"$refund = wc_create_refund( array( 'order_id' => {int(order_id)}, 'amount' => '{amount}', "
                f"'reason' => '{reason}' ) ); echo is_wp_error( $refund ) ? 0 : $refund->get_id();"
            )
        )

    def trash(self, order_id: int) -> None:
        """Move an order to the trash as the order screen does."""
        self.php(f"wc_get_order( {int(order_id)} )->delete( false ); echo 1;")

    def restore(self, order_id: int) -> None:
        """Take an order out of the trash."""
        self.php(f"wc_get_order( {int(order_id)} )->untrash(); echo 1;")

    def delete(self, order_id: int) -> None:
        """Delete an order for good."""
        self.php(f"wc_get_order( {int(order_id)} )->delete( true ); echo 1;")

    def order_status(self, order_id: int) -> str | None:
        """Return an order's status, or None when it no longer exists."""
        return self.php(
            f"$o = wc_get_order( {int(order_id)} ); echo wp_json_encode( $o ? $o->get_status() : null );"
        )

    def run_queue(self) -> None:
        """Run due Action Scheduler actions (webhook deliveries), as WP-Cron would."""
        self.php("ActionScheduler_QueueRunner::instance()->run(); echo 1;")

    def webhooks(self) -> list[dict[str, Any]]:
        """Return every webhook with its status and failure count, straight from the data store."""
        return self.php(
            """
            $hooks = array();
            foreach ( WC_Data_Store::load( 'webhook' )->search_webhooks( array( 'limit' => -1 ) ) as $id ) {
                $hook = wc_get_webhook( $id );
                $hooks[] = array( 'id' => $id, 'topic' => $hook->get_topic(), 'status' => $hook->get_status(),
                    'failure_count' => $hook->get_failure_count(), 'delivery_url' => $hook->get_delivery_url() );
            }
            echo wp_json_encode( $hooks );
            """
        )

    def meta_rows(self, order_id: int) -> dict[str, Any]:
        """Return the order's ``_claimbridge_*`` meta rows from the table its storage keeps them in."""
        return self.php(f"$order_id = {int(order_id)};\n{META_ROWS}")

    def last_email(self) -> dict[str, Any] | None:
        """Return the last e-mail WooCommerce handed to wp_mail (recorded by the mu-plugin), if any."""
        return self.php("echo wp_json_encode( get_option( 'claimbridge_test_last_mail', null ) );")


class Forwarder:
    """A WSGI app that passes each request on to the shop at ``origin`` and returns its answer unchanged.

    Served by a ``FakeServer`` at the shop's home URL, it lets a suite record the requests a connector makes to
    a real shop and inject faults in front of it, as it does with the doubles.
    """

    HOP_BY_HOP = frozenset(
        ("connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "content-length")
    )

    def __init__(self) -> None:
        self.origin: str | None = None
        self.session = requests.Session()
        self.session.trust_env = False  # never an environment proxy: the shop is on loopback

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        """Forward one request (method, raw path and query, headers, body) and relay the answer."""
        if self.origin is None:
            raise RuntimeError("the forwarder has no shop to forward to yet")
        request = Request(environ)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in self.HOP_BY_HOP}
        headers["Accept-Encoding"] = "identity"
        answer = self.session.request(
            request.method,
            self.origin + environ.get("REQUEST_URI", request.full_path),
            headers=headers,
            data=request.get_data(),
            allow_redirects=False,
            timeout=120,
        )
        relayed = [
            (k, v)
            for k, v in answer.headers.items()
            if k.lower() not in self.HOP_BY_HOP and k.lower() != "content-encoding"
        ]
        start_response(f"{answer.status_code} {answer.reason}", relayed)
        return [answer.content]


def php_in(directory: Path, url: str, code: str) -> Any:
    """Run ``code`` in the WordPress at ``directory`` and decode its output as JSON."""
    script = (
        "<?php\n$_SERVER['HTTP_HOST'] = parse_url( getenv( 'WP_URL' ), PHP_URL_HOST );\n"
        "require getenv( 'WP_DIR' ) . '/wp-load.php';\nwp_set_current_user( 1 );\n" + code
    )
    # OPcache's file cache keeps the compiled WordPress between these short runs: half the start-up time.
    opcache = ["-d", "opcache.enable_cli=1", "-d", f"opcache.file_cache={_opcache_dir(directory)}"]
    result = subprocess.run(
        ["php", "-d", "display_errors=stderr", *opcache, "-d", "opcache.file_cache_only=1"],
        input=script,
        capture_output=True,
        text=True,
        env={**os.environ, "WP_DIR": str(directory), "WP_URL": url},
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"PHP failed ({result.returncode}): {result.stderr[-2000:]}")
    output = result.stdout.strip().splitlines()
    return json.loads(output[-1]) if output else None


def _opcache_dir(directory: Path) -> Path:
    cache = directory.parent / "opcache"
    cache.mkdir(exist_ok=True)
    return cache


@contextmanager
def real_shop(woocommerce_dir: str, *, home_url: str | None = None) -> Iterator[RealShop]:
    """Install, serve and finally drop a WordPress + WooCommerce shop with the ClaimBridge plugin.

    With ``home_url`` (a test proxy's address) WordPress is installed to answer there, and PHP listens on a port
    of its own, ``RealShop.origin``, for the proxy to forward to.
    """
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    url = home_url or origin
    workdir = Path(tempfile.mkdtemp(prefix="cb_wc_connector_"))
    directory = workdir / "wp"
    env = {**os.environ, WOOCOMMERCE_DIR_ENV: woocommerce_dir}
    database = f"cb_connector_{os.getpid()}_{port}"
    server = None
    try:
        subprocess.run(
            [
                str(BIN / "install-wp.sh"),
                str(directory),
                "--url",
                url,
                "--db",
                database,
                "--plugin",
                str(PLUGIN),
                "--activate",
                "woocommerce,claimbridge",
            ],
            env=env,
            check=True,
            capture_output=True,
            text=True,
            timeout=600,
        )
        (directory / "wp-config-extra.php").write_text("<?php\ndefine( 'DISABLE_WP_CRON', true );\n")
        (directory / "wp-content" / "mu-plugins" / "claimbridge-connector-tests.php").write_text(MU_PLUGIN)
        keys = php_in(directory, url, SETUP)
        with (workdir / "serve.log").open("wb") as log:  # the server keeps its own copy of the descriptor
            server = subprocess.Popen(
                [str(BIN / "serve-wp.sh"), str(directory), f"127.0.0.1:{port}"],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _wait_for(f"{origin}/wp-json/")
        yield RealShop(directory, url, keys, origin=origin)
    finally:
        if server is not None:
            os.killpg(server.pid, 15)
            server.wait(timeout=30)
        if (directory / ".install.env").exists():
            subprocess.run([str(BIN / "drop-wp.sh"), str(directory)], check=False, capture_output=True)
        shutil.rmtree(workdir, ignore_errors=True)


def _wait_for(url: str) -> None:
    for _ in range(150):
        try:
            if requests.get(url, timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the shop does not answer at {url}")
