"""Where webhooks may go (core/webhooks_out/targets.py): the rules `relay webhooks add` and the
delivery adapter share, and the CLI refusing with the reason before anything is stored."""

from __future__ import annotations

import io
import ipaddress

import pytest

from activity_relay.core.webhooks_out.ports import WebhookConfigError
from activity_relay.core.webhooks_out.targets import (
    MAX_URL_BYTES,
    address_refusal,
    check_target,
)
from relay_cli import main as cli


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://127.0.0.1/hook", "127.0.0.1 is a loopback address"),
        ("https://127.1/hook", "127.1 is a loopback address"),
        ("https://2130706433/hook", "2130706433 is a loopback address"),
        ("https://0x7f.0.0.1/hook", "is a loopback address"),
        ("https://169.254.169.254/latest/meta-data/", "link-local address (the metadata service"),
        ("https://[::1]/hook", "::1 is a loopback address"),
        ("https://[fd00:ec2::254]/", "private address"),
        ("https://10.0.0.1/hook", "10.0.0.1 is a private address"),
        ("https://100.64.0.1/hook", "reserved or special-purpose"),
        ("https://[::ffff:169.254.169.254]/", "maps to 169.254.169.254, which is a link-local"),
        ("https://[::127.0.0.1]/hook", "carries the IPv4 address 127.0.0.1"),
        ("https://[::8.8.8.8]/hook", "carries the IPv4 address 8.8.8.8"),
        ("https://[fec0::1]/hook", "site-local IPv6 address (fec0::/10)"),
        ("https://[2002:7f00:1::1]/hook", "carries the IPv4 address 127.0.0.1"),
        ("https://[64:ff9b::a00:1]/hook", "carries the IPv4 address 10.0.0.1"),
        ("https://[ff02::1]/hook", "multicast"),
        ("https://localhost/hook", "localhost is a loopback name"),
        ("https://api.localhost/hook", "loopback name"),
        ("https://example.com:8443/hook", "port 8443: webhooks go to 443 unless"),
        ("https://example.com:80/hook", "port 80"),
        ("https://example.com:99999/hook", "port of 'https://example.com:99999/hook' is not valid"),
        ("http://example.com/hook", "webhook URLs must be https"),
        ("ftp://example.com/hook", "not a URL to send webhooks to"),
        ("https://user:pass@example.com/hook", "user names and passwords"),
        ("https://example.com/" + "a" * MAX_URL_BYTES, "bytes long; at most 2048"),
        ("https://\u2603.example/hook", "cannot be encoded for DNS"),
        ("https://" + "a" * 64 + ".example/hook", "not a DNS name"),
        ("https://exa mple.com/hook", "blank or control characters"),
    ],
)
def test_refused_with_the_reason(url: str, reason: str) -> None:
    with pytest.raises(WebhookConfigError) as refused:
        check_target(url)

    assert reason in str(refused.value)


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/leadlex",
        "https://hooks.example.com:443/leadlex?token=abc",
        "https://8.8.8.8/hook",
        "https://[2606:4700:4700::1111]/hook",
        "https://[::ffff:8.8.8.8]/hook",
        "https://b\u00fccher.example/hook",
        "https://example.com/" + "a" * (MAX_URL_BYTES - len("https://example.com/")),
    ],
)
def test_public_https_urls_on_443_pass(url: str) -> None:
    assert check_target(url).url == url


def test_another_port_passes_when_asked_for() -> None:
    assert check_target("https://example.com:8443/hook", any_port=True).port == 8443


def test_an_idn_host_is_checked_as_dns_will_see_it() -> None:
    assert check_target("https://B\u00fccher.Example/x").host == "xn--bcher-kva.example"


def test_a_local_stack_that_allows_local_targets_may_use_loopback_over_http_on_any_port() -> None:
    target = check_target("http://127.0.0.1:8123/hook", allow_local=True)

    assert (target.scheme, target.port) == ("http", 8123)
    assert check_target("http://localhost:8123/hook", allow_local=True).host == "localhost"
    # ... loopback only: private and metadata addresses stay refused there too
    for url in ("http://10.0.0.1/hook", "http://169.254.169.254/", "http://[fec0::1]/"):
        with pytest.raises(WebhookConfigError):
            check_target(url, allow_local=True)


@pytest.mark.parametrize("address", ["::127.0.0.1", "fec0::1", "64:ff9b::a00:1", "::10.0.0.1"])
def test_what_python_calls_global_is_refused(address: str) -> None:
    parsed = ipaddress.ip_address(address)

    assert parsed.is_global, "the reason this rule exists: Python's is_global lets it through"
    assert address_refusal(parsed) is not None


def test_public_addresses_are_not_refused() -> None:
    for address in ("8.8.8.8", "2606:4700:4700::1111", "::ffff:1.1.1.1"):
        assert address_refusal(ipaddress.ip_address(address)) is None


# --- relay webhooks add: refused before anything is stored ---------------------------------------

NO_AWS = {
    "AWS_CONFIG_FILE": "/nonexistent",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
    "RELAY_STATE_FILE": "/nonexistent",
}


def add(*argv: str) -> tuple[int, str]:
    """`relay webhooks add` against an AWS table (no local stack), without AWS: anything that
    passed the checks would fail at the first AWS call instead."""
    err = io.StringIO()
    command = ["--region", "us-east-1", "webhooks", "--webhook-table", "endpoints", "add"]
    status = cli.main([*command, *argv], env=NO_AWS, out=io.StringIO(), err=err)
    return status, err.getvalue()


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://127.0.0.1/hook", "127.0.0.1 is a loopback address, not a public address"),
        ("https://169.254.169.254/latest", "169.254.169.254 is a link-local address"),
        ("https://[::1]/hook", "::1 is a loopback address"),
        ("https://example.com:8443/hook", "port 8443"),
        ("https://example.com/" + "x" * 100_000, "at most 2048"),
    ],
)
def test_relay_webhooks_add_refuses_with_the_reason(url: str, reason: str) -> None:
    status, err = add(url)

    assert status == 2
    assert reason in err


def test_relay_webhooks_add_takes_another_port_with_any_port() -> None:
    status, err = add("https://example.com:8443/hook", "--any-port")

    # Past the address rules: it fails at AWS (no credentials here), not at the port.
    assert "port 8443" not in err
    assert status != 0
