"""Tests for the SSRF guard: URL validation and the connect-time peer check."""

from __future__ import annotations

import pytest
from flask import Flask

from connectors import errors, ssrf
from connectors.http import HttpClient
from tests.fakes.server import serve


class TestValidatePublicUrl:
    @pytest.mark.parametrize(
        "url",
        [
            "http://127.0.0.1/",
            "http://localhost:8080/",
            "http://169.254.169.254/latest/meta-data/",
            "http://10.0.0.5/",
            "https://192.168.1.10/",
            "http://172.16.0.1/",
            "http://100.64.0.1/",
            "http://0.0.0.0/",
            "http://224.0.0.1/",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[fe80::1]/",
            "http://[fd00::1]/",
            "http://0x7f000001/",
            "http://2130706433/",
            "http://0177.0.0.1/",
            "http://127.1/",
            "http://[::]/",
            "http://[0:0:0:0:0:ffff:7f00:1]/",
            "http://[::ffff:a9fe:a9fe]/",
            "http://[::127.0.0.1]/",
            "http://[2002:7f00:1::]/",  # 6to4 around 127.0.0.1
            "http://[2002:a9fe:a9fe::1]/",  # 6to4 around 169.254.169.254 (cloud metadata)
            "http://[2002:c0a8:101::]/",  # 6to4 around 192.168.1.1
            "http://[64:ff9b::a00:1]/",  # NAT64 around 10.0.0.1
            "http://[64:ff9b::127.0.0.1]/",  # NAT64, dotted spelling
            "http://[64:ff9b:1::a9fe:a9fe]/",  # NAT64 local-use prefix
            "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",  # Teredo
            "http://[fe80::1%25eth0]/",
            "http://[ff02::1]/",
            "http://[2001:db8::1]/",
            "http://198.18.0.1/",
            "http://192.0.0.1/",
            "http://255.255.255.255/",
        ],
    )
    def test_refuses_non_public_addresses(self, url) -> None:
        with pytest.raises(errors.UnsafeURLError):
            ssrf.validate_public_url(url, allow_private=False)

    @pytest.mark.parametrize(
        "url",
        [
            "file:///etc/passwd",
            "gopher://example.com/",
            "ftp://example.com/",
            "javascript:alert(1)",
            "http:///no-host",
            "https://user:secret@93.184.215.14/",
            "http://93.184.215.14:99999/",
        ],
    )
    def test_refuses_bad_schemes_and_malformed_urls(self, url) -> None:
        with pytest.raises(errors.UnsafeURLError):
            ssrf.validate_public_url(url, allow_private=True)

    def test_accepts_public_address(self) -> None:
        url = "https://93.184.215.14/shop"
        assert ssrf.validate_public_url(url, allow_private=False) == url

    @pytest.mark.parametrize(
        "address",
        ["2002:5db8:d70e::1", "64:ff9b::93.184.215.14", "::ffff:93.184.215.14", "2a00:1450:4001::1"],
    )
    def test_accepts_ipv6_leading_to_a_public_address(self, address) -> None:
        assert ssrf.is_public_address(address)

    def test_allows_private_addresses_when_configured(self) -> None:
        url = "http://127.0.0.1:8000/"
        assert ssrf.validate_public_url(url, allow_private=True) == url

    def test_refuses_host_when_any_address_is_private(self, monkeypatch) -> None:
        monkeypatch.setattr(ssrf, "resolve_host", lambda host, port: ["93.184.215.14", "10.1.2.3"])
        with pytest.raises(errors.UnsafeURLError, match=r"10\.1\.2\.3"):
            ssrf.validate_public_url("https://shop.example/", allow_private=False)


class TestGuardedSession:
    def test_refuses_private_peer_after_dns_rebinding(self, monkeypatch) -> None:
        app = Flask("target")
        app.add_url_rule("/", "index", lambda: "secret")
        with serve(app) as target:
            # DNS answers a public address at validation time; the socket then lands on loopback.
            monkeypatch.setattr(ssrf, "resolve_host", lambda host, port: ["93.184.215.14"])
            client = HttpClient(target.url, allow_private=False, max_retries=0)
            with pytest.raises(errors.UnsafeURLError, match="not public"):
                client.request("GET", "/")
            assert target.requests == []

    def test_refuses_proxies(self) -> None:
        client = HttpClient("https://93.184.215.14", allow_private=False, max_retries=0)
        client.session.proxies = {"https": "http://93.184.215.15:3128"}
        with pytest.raises(errors.UnsafeURLError, match="proxies"):
            client.request("GET", "/")

    def test_ignores_environment_proxies(self) -> None:
        client = HttpClient("https://93.184.215.14", allow_private=False)
        assert client.session.trust_env is False
