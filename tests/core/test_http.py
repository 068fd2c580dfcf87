"""The outbound HTTP client: which destinations it refuses, and how it talks to the ones it
allows (pinned address, no redirects, one deadline, a capped body) — against a real receiver."""

# The shared receiver fixtures are imported, and test parameters name them.
# ruff: noqa: F811

from __future__ import annotations

import socket

import pytest
from tests.notify.receivers import allow_loopback, webhook_receiver  # noqa: F401 (fixtures)
from tests.servers import free_port

from hashdesk.core import http

REFUSED = [
    ("http://10.0.0.5/hook", "10.0.0.5 is a private address"),
    ("http://172.16.4.2/", "a private address"),
    ("http://192.168.1.10/", "a private address"),
    ("http://127.0.0.1:8000/", "a loopback address"),
    ("http://127.9.9.9/", "a loopback address"),
    ("http://169.254.169.254/latest/meta-data", "a link-local address"),
    ("http://224.0.0.1/", "a multicast address"),
    ("http://0.0.0.0/", "an unspecified address"),
    ("http://240.0.0.1/", "a reserved address"),
    ("http://100.64.0.1/", "a shared (carrier-grade NAT) address"),
    ("http://[::1]/", "a loopback address"),
    ("http://[::]/", "an unspecified address"),
    ("http://[fe80::1]/", "a link-local address"),
    ("http://[fd12:3456::1]/", "a private address"),
    ("http://[fc00::1]/", "a private address"),
    ("http://[fec0::1]/", "a site-local address"),
    ("http://[ff02::1]/", "a multicast address"),
    ("http://[::ffff:127.0.0.1]/", "a loopback address (127.0.0.1) in IPv6 form"),
    ("http://[::ffff:10.0.0.1]/", "a private address (10.0.0.1) in IPv6 form"),
    ("http://[::ffff:169.254.169.254]/", "a link-local address (169.254.169.254) in IPv6 form"),
    ("http://[2002:7f00:1::]/", "a loopback address (127.0.0.1) in IPv6 form"),
    ("http://[2002:c0a8:101::]/", "a private address (192.168.1.1) in IPv6 form"),
    # Teredo carries the client address inverted: 0x80fffffe is 127.0.0.1.
    ("http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/", "(127.0.0.1) in IPv6 form"),
    ("http://[64:ff9b::a00:1]/", "a private address (10.0.0.1) in IPv6 form"),
]


@pytest.mark.parametrize(("url", "reason"), REFUSED)
def test_internal_addresses_are_refused_with_the_reason(url, reason):
    with pytest.raises(http.OutboundRefused) as refused:
        http.check_destination(url)
    message = str(refused.value)
    assert reason in message
    assert "HASHDESK_OUTBOUND_ALLOWED_NETWORKS" in message


def test_a_name_that_resolves_to_loopback_is_refused():
    with pytest.raises(
        http.OutboundRefused, match=r"localhost resolves to 127\.0\.0\.1, a loopback"
    ):
        http.check_destination("http://localhost:8000/hook")


def test_one_internal_answer_among_public_ones_refuses_the_name(monkeypatch):
    answers = [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", 443)),
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", 443)),
    ]
    monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kwargs: answers)
    with pytest.raises(http.OutboundRefused, match=r"hooks\.example\.com resolves to 10\.1\.2\.3"):
        http.check_destination("https://hooks.example.com/in")


@pytest.mark.parametrize(
    "url", ["https://93.184.215.14/hook", "http://8.8.8.8:8080/x?y=1", "https://[2606:4700::1111]/"]
)
def test_public_addresses_are_allowed(url):
    http.check_destination(url)


def test_allowed_networks_open_an_internal_range_and_nothing_else(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["10.20.0.0/16", "fd00:1::/32"]
    http.check_destination("http://10.20.3.4/hook")
    http.check_destination("http://[::ffff:10.20.3.4]/hook")
    http.check_destination("http://[fd00:1::5]/hook")
    for url in ("http://10.21.0.1/", "http://192.168.0.1/", "http://[fd00:2::5]/"):
        with pytest.raises(http.OutboundRefused):
            http.check_destination(url)


def test_a_malformed_allowed_network_is_reported(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["not-a-network"]
    with pytest.raises(http.OutboundRefused, match="not a network: 'not-a-network'"):
        http.check_destination("http://10.0.0.1/")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://files.example.com/hook", "Only http and https URLs are allowed, not ftp"),
        ("file:///etc/passwd", "Only http and https URLs are allowed, not file"),
        ("gopher://example.com/", "not gopher"),
        ("javascript:alert(1)", "not javascript"),
        ("hooks.example.com/in", "not a URL without a scheme"),
        ("https://user:secret@hooks.example.com/in", "must not contain a user name or password"),
        ("https://token@hooks.example.com/in", "must not contain a user name or password"),
        ("http:///only-a-path", "has no host name"),
        ("https://hooks.example.com:99999/", "not a valid URL"),
        ("https://hooks.example.com/a b", "cannot contain spaces"),
        ("", "Enter a URL"),
    ],
)
def test_malformed_urls_are_refused(url, message):
    with pytest.raises(http.OutboundRefused, match=message):
        http.check_destination(url)


def test_a_name_that_does_not_resolve_is_refused_as_not_found():
    with pytest.raises(http.HostNotFound, match=r"nothing\.invalid could not be resolved"):
        http.check_destination("https://nothing.invalid/hook")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "https://hooks.example.com/services/T000/B000/XXXX?token=abc",
            "https://hooks.example.com",
        ),
        ("https://user:pw@Hooks.Example.com:8443/a", "https://hooks.example.com:8443"),
        ("http://hooks.example.com:80/a", "http://hooks.example.com"),
        ("http://[2606:4700::1111]:8080/x", "http://[2606:4700::1111]:8080"),
    ],
)
def test_describe_destination_shows_scheme_and_host_only(url, shown):
    assert http.describe_destination(url) == shown


@pytest.mark.django_db
def test_posts_to_an_allowed_receiver_and_returns_status_and_body(webhook_receiver, allow_loopback):
    webhook_receiver.answer(201, b"created")
    response = http.post_json(webhook_receiver.url(), b'{"a":1}', {"X-Extra": "yes"})
    assert (response.status, response.body, response.truncated, response.ok) == (
        201,
        b"created",
        False,
        True,
    )
    [received] = webhook_receiver.requests
    assert received.method == "POST" and received.path == "/hook"
    assert received.body == b'{"a":1}'
    assert received.header("content-type") == "application/json"
    assert received.header("x-extra") == "yes"
    assert received.header("host") == f"127.0.0.1:{webhook_receiver.port}"


def test_nothing_is_sent_to_a_refused_destination(webhook_receiver):
    with pytest.raises(http.OutboundRefused, match="a loopback address"):
        http.post_json(webhook_receiver.url(), b"{}")
    assert webhook_receiver.requests == []


def test_connects_to_the_checked_address_and_keeps_the_name(
    webhook_receiver, allow_loopback, monkeypatch
):
    """DNS rebinding: the name is resolved once, for the check, and the connection goes to that
    address; a second answer (here: an unroutable one) is never asked for."""
    real = socket.getaddrinfo
    asked: list[str] = []

    def resolver(host, *args, **kwargs):
        if host == "hooks.example.test":
            asked.append(host)
            address = "127.0.0.1" if len(asked) == 1 else "10.255.255.1"
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, args[0] if args else 0))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    response = http.post_json(f"http://hooks.example.test:{webhook_receiver.port}/in", b"{}")
    assert response.status == 200
    assert asked == ["hooks.example.test"]
    [received] = webhook_receiver.requests
    assert received.header("host") == f"hooks.example.test:{webhook_receiver.port}"


def test_redirects_are_not_followed(webhook_receiver, allow_loopback):
    webhook_receiver.redirect(webhook_receiver.url("/elsewhere"))
    response = http.post_json(webhook_receiver.url(), b"{}")
    assert response.status == 302
    assert response.headers["location"].endswith("/elsewhere")
    assert [r.path for r in webhook_receiver.requests] == ["/hook"]


def test_a_hanging_receiver_times_out(webhook_receiver, allow_loopback, settings):
    settings.OUTBOUND_TIMEOUT_SECONDS = 1
    webhook_receiver.hang(60)
    with pytest.raises(http.OutboundFailed, match="did not answer within 1 s"):
        http.post_json(webhook_receiver.url(), b"{}")
    assert len(webhook_receiver.requests) == 1


def test_a_trickling_receiver_cannot_stretch_the_deadline(
    webhook_receiver, allow_loopback, settings
):
    settings.OUTBOUND_TIMEOUT_SECONDS = 1
    webhook_receiver.trickle(60)  # 100 bytes, one every 0.6 s: each read is quick, all are not
    with pytest.raises(http.OutboundFailed, match="did not answer within 1 s"):
        http.post_json(webhook_receiver.url(), b"{}")


def test_the_response_body_is_capped(webhook_receiver, allow_loopback):
    webhook_receiver.large_body(5 * http.MAX_RESPONSE_BYTES)
    response = http.request("GET", webhook_receiver.url())
    assert response.status == 200
    assert len(response.body) == http.MAX_RESPONSE_BYTES
    assert response.truncated


def test_a_closed_port_is_a_failure_to_retry(allow_loopback):
    with pytest.raises(http.OutboundFailed, match="could not be reached"):
        http.post_json(f"http://127.0.0.1:{free_port()}/hook", b"{}")


@pytest.fixture
def tls_receiver(tmp_path):
    """A TLS server on loopback with a self-signed certificate for hooks.example.test; it
    records the server names (SNI) clients ask for."""
    import datetime
    import ssl
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hooks.example.test")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("hooks.example.test")]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = HTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    names: list[str] = []
    context.sni_callback = lambda _sock, server_name, _ctx: names.append(server_name)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server.server_address[1], names
    finally:
        server.shutdown()
        server.server_close()


def test_https_goes_to_the_checked_address_with_the_name_for_sni_and_verification(
    tls_receiver, allow_loopback, monkeypatch
):
    real = socket.getaddrinfo

    def resolver(host, *args, **kwargs):
        if host == "hooks.example.test":
            return real("127.0.0.1", *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    port, names = tls_receiver
    # The certificate is self-signed: verification is on, and fails, after the handshake asked
    # for the name (not the address) as SNI.
    with pytest.raises(http.OutboundFailed, match="CERTIFICATE_VERIFY_FAILED"):
        http.post_json(f"https://hooks.example.test:{port}/in", b"{}")
    assert names == ["hooks.example.test"]
