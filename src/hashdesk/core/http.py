"""The one outbound HTTP client: every request Hashdesk makes to another system goes through here.

Webhooks are URLs that people type, so without a guard anyone could make Hashdesk call its own
internal network (server-side request forgery). Before connecting, :func:`resolve_destination`
resolves the host and refuses the request if **any** address is private, loopback, link-local,
multicast, reserved, unspecified, shared (100.64.0.0/10) or an IPv6 form that wraps one of those
(IPv4-mapped, 6to4, Teredo, NAT64) — unless ``settings.OUTBOUND_ALLOWED_NETWORKS`` lists it.

The connection then goes to the address that was checked, not to a second DNS answer: a name
that resolves to a public address for the check and to 127.0.0.1 a moment later (DNS
rebinding) cannot reach an internal host. The URL keeps its name, so the Host header, TLS SNI
and certificate verification are those of the name. Redirects are never followed, the whole
exchange has one deadline (``settings.OUTBOUND_TIMEOUT_SECONDS``) that a receiver trickling
bytes cannot stretch, and at most :data:`MAX_RESPONSE_BYTES` of an answer are read.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx
from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_RESPONSE_BYTES = 64 * 1024
USER_AGENT = "Hashdesk/1"

# Not in Python's ipaddress classification of private networks before 3.13, but never public.
# httpx logs every request with its full URL, and a webhook URL may carry a token in its path:
# this module logs destinations itself (describe_destination), so httpx says only warnings.
logging.getLogger("httpx").setLevel(logging.WARNING)

_SHARED = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class OutboundRefused(ValueError):
    """The destination is not allowed: a private, loopback or otherwise internal address that
    ``HASHDESK_OUTBOUND_ALLOWED_NETWORKS`` does not list, or a malformed URL."""


class HostNotFound(OutboundRefused):
    """The host name does not resolve. Refused when configuring a URL; at delivery time it may
    be a passing DNS failure, so deliverers retry it rather than giving up."""


class OutboundFailed(Exception):
    """The destination was allowed but the exchange failed: refused connection, TLS error,
    timeout, broken answer. Worth retrying later."""


@dataclass(frozen=True)
class Destination:
    """A checked URL: where it points, and the address the connection must go to."""

    scheme: str
    host: str
    port: int
    address: IPAddress

    @property
    def label(self) -> str:
        return _label(self.scheme, self.host, self.port)


@dataclass(frozen=True)
class OutboundResponse:
    status: int
    # At most MAX_RESPONSE_BYTES of the body; ``truncated`` says whether there was more.
    body: bytes
    truncated: bool
    headers: dict[str, str]

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def short_body(self, limit: int = 200) -> str:
        """The start of the body as text, for error messages and the delivery log."""
        text = self.body[: limit * 4].decode("utf-8", errors="replace")
        text = " ".join(text.split())
        return text if len(text) <= limit else text[: limit - 1] + "…"


def _label(scheme: str, host: str, port: int | None) -> str:
    shown = f"[{host}]" if ":" in host else host
    default = {"http": 80, "https": 443}.get(scheme)
    return f"{scheme}://{shown}" if port in (None, default) else f"{scheme}://{shown}:{port}"


def describe_destination(url: str) -> str:
    """``scheme://host[:port]`` of ``url``, without user info, path or query: safe to log and
    to show (a webhook URL may carry a token in its path)."""
    try:
        parts = urlsplit(url.strip())
        return _label(parts.scheme.lower(), parts.hostname or "", parts.port)
    except ValueError:
        return "(invalid URL)"


def _allowed_networks() -> list[IPNetwork]:
    networks = []
    for entry in settings.OUTBOUND_ALLOWED_NETWORKS:
        try:
            networks.append(ipaddress.ip_network(str(entry).strip(), strict=False))
        except ValueError as error:
            raise OutboundRefused(
                f"HASHDESK_OUTBOUND_ALLOWED_NETWORKS has an entry that is not a network: {entry!r}"
            ) from error
    return networks


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, Teredo client, NAT64)."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _kind_of_internal(address: IPAddress) -> str | None:
    """Why ``address`` is not for outbound requests ("a private address"), or None if public."""
    inner = _embedded_ipv4(address)
    if inner is not None:
        reason = _kind_of_internal(inner)
        if reason is not None:
            return f"{reason} ({inner}) in IPv6 form"
    if address.is_loopback:
        return "a loopback address"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if isinstance(address, ipaddress.IPv6Address) and address.is_site_local:
        return "a site-local address"
    if isinstance(address, ipaddress.IPv4Address) and address in _SHARED:
        return "a shared (carrier-grade NAT) address"
    if address.is_reserved:
        return "a reserved address"
    if address.is_private:
        return "a private address"
    if not address.is_global:
        return "not a public address"
    return None


def _is_allowed(address: IPAddress, networks: list[IPNetwork]) -> bool:
    candidates = [address]
    inner = _embedded_ipv4(address)
    if inner is not None:
        candidates.append(inner)
    return any(
        candidate.version == network.version and candidate in network
        for candidate in candidates
        for network in networks
    )


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def check_address(host: str, address: IPAddress) -> None:
    """Raise :class:`OutboundRefused` unless a request may go to ``address`` (of ``host``)."""
    reason = _kind_of_internal(address)
    if reason is None or _is_allowed(address, _allowed_networks()):
        return
    said = f"{address} is" if _literal(host) == address else f"{host} resolves to {address},"
    raise OutboundRefused(
        f"{said} {reason}; Hashdesk does not send requests to internal networks. "
        "Ask an administrator to allow it with HASHDESK_OUTBOUND_ALLOWED_NETWORKS."
    )


def _parse(url: str) -> tuple[str, str, int]:
    if not isinstance(url, str) or not url.strip():
        raise OutboundRefused("Enter a URL.")
    if any(ord(char) < 33 or ord(char) == 127 for char in url.strip()):
        raise OutboundRefused("A URL cannot contain spaces or control characters.")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as error:
        raise OutboundRefused(f"This is not a valid URL: {error}.") from error
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise OutboundRefused(
            f"Only http and https URLs are allowed, not {scheme or 'a URL without a scheme'}."
        )
    if parts.username is not None or parts.password is not None:
        raise OutboundRefused(
            "The URL must not contain a user name or password; put credentials in the path "
            "or rely on the signature."
        )
    host = parts.hostname or ""
    if not host:
        raise OutboundRefused("The URL has no host name.")
    return scheme, host, port or (443 if scheme == "https" else 80)


def _resolve(host: str, port: int) -> list[IPAddress]:
    literal = _literal(host)
    if literal is not None:
        return [literal]
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise HostNotFound(f"{host} could not be resolved to an address.") from error
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in answers:
        # Drop an IPv6 scope ("fe80::1%eth0"); the address itself is what is judged.
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise HostNotFound(f"{host} could not be resolved to an address.")
    return addresses


def resolve_destination(url: str) -> Destination:
    """Check ``url`` and resolve its host; every address must be allowed (one bad answer in a
    round-robin would otherwise be reached now and then). Raises :class:`OutboundRefused`."""
    scheme, host, port = _parse(url)
    addresses = _resolve(host, port)
    for address in addresses:
        check_address(host, address)
    return Destination(scheme=scheme, host=host, port=port, address=addresses[0])


def check_destination(url: str) -> None:
    """Raise :class:`OutboundRefused` unless ``url`` may be called (resolving its host)."""
    resolve_destination(url)


# --- Connecting to the checked address, within one deadline ------------------------------------


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.ends = time.monotonic() + seconds

    def clamp(self, timeout: float | None, error: type[Exception]) -> float:
        remaining = self.ends - time.monotonic()
        if remaining <= 0:
            raise error(f"no complete answer within {self.seconds:g} s")
        return remaining if timeout is None else min(timeout, remaining)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read and write ends by the request's deadline."""

    def __init__(self, stream: httpcore.NetworkStream, deadline: _Deadline) -> None:
        self._stream = stream
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._deadline.clamp(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._deadline.clamp(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._stream.start_tls(
            ssl_context, server_hostname, self._deadline.clamp(timeout, httpcore.ConnectTimeout)
        )
        return _DeadlineStream(stream, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _PinnedBackend(httpcore.SyncBackend):
    """Connects to the checked address whatever host name the request carries."""

    def __init__(self, destination: Destination, deadline: _Deadline) -> None:
        self._destination = destination
        self._deadline = deadline

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        stream = super().connect_tcp(
            str(self._destination.address),
            self._destination.port,
            self._deadline.clamp(timeout, httpcore.ConnectTimeout),
            local_address,
            socket_options,
        )
        return _DeadlineStream(stream, self._deadline)

    def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("outbound requests do not use local sockets")


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One verifying TLS context per process: building one loads the CA bundle (about 100 ms),
    which per request was most of a webhook delivery's time. SSLContext is safe to share
    between threads."""
    return httpx.create_ssl_context(trust_env=False)


class _PinnedTransport(httpx.HTTPTransport):
    def __init__(self, destination: Destination, deadline: _Deadline) -> None:
        super().__init__(verify=_tls_context(), trust_env=False, retries=0)
        # httpx builds its connection pool without a way to choose the network backend; the
        # pool is rebuilt here with the same defaults and the pinned backend (httpx 0.28).
        self._pool = httpcore.ConnectionPool(
            ssl_context=_tls_context(),
            max_connections=1,
            max_keepalive_connections=0,
            retries=0,
            network_backend=_PinnedBackend(destination, deadline),
        )


def _timeout_seconds(timeout: float | None) -> float:
    seconds = float(settings.OUTBOUND_TIMEOUT_SECONDS if timeout is None else timeout)
    return max(seconds, 0.1)


def request(
    method: str,
    url: str,
    *,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float | None = None,
) -> OutboundResponse:
    """Make one request to ``url``; never follows redirects (a 3xx is returned as it is).

    Raises :class:`OutboundRefused` when the destination is not allowed (nothing was sent),
    :class:`HostNotFound` when its name does not resolve, and :class:`OutboundFailed` when the
    exchange fails or does not finish within ``timeout`` seconds (default
    ``settings.OUTBOUND_TIMEOUT_SECONDS``) all told.
    """
    destination = resolve_destination(url)
    seconds = _timeout_seconds(timeout)
    deadline = _Deadline(seconds)
    # identity: the size cap applies to what arrives, not to what a compressed answer expands to.
    sent_headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity", **(headers or {})}
    extensions = {"sni_hostname": destination.host} if destination.scheme == "https" else {}
    client = httpx.Client(
        transport=_PinnedTransport(destination, deadline),
        timeout=httpx.Timeout(seconds),
        follow_redirects=False,
        trust_env=False,
    )
    try:
        with client:
            outgoing = client.build_request(
                method, url.strip(), content=content, headers=sent_headers, extensions=extensions
            )
            response = client.send(outgoing, stream=True)
            try:
                body, truncated = _read_capped(response, deadline)
            finally:
                response.close()
    except httpx.TimeoutException as error:
        raise OutboundFailed(
            f"{destination.label} did not answer within {seconds:g} s ({error or 'timeout'})"
        ) from error
    except (httpx.HTTPError, httpcore.TimeoutException, OSError) as error:
        raise OutboundFailed(
            f"{destination.label} could not be reached: {type(error).__name__}: {error}"
        ) from error
    return OutboundResponse(
        status=response.status_code,
        body=body,
        truncated=truncated,
        headers={key.lower(): value for key, value in response.headers.items()},
    )


def _read_capped(response: httpx.Response, deadline: _Deadline) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_raw():
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            return b"".join(chunks)[:MAX_RESPONSE_BYTES], True
        deadline.clamp(None, httpx.ReadTimeout)
    return b"".join(chunks), False


def post_json(
    url: str, body: bytes, headers: dict[str, str] | None = None, timeout: float | None = None
) -> OutboundResponse:
    """POST ``body`` (already serialised JSON, so a signature covers exactly these bytes)."""
    return request(
        "POST",
        url,
        content=body,
        headers={"Content-Type": "application/json", **(headers or {})},
        timeout=timeout,
    )
