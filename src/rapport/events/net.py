"""Reaching webhook URLs safely: only public addresses, and the very address that was checked.

A webhook URL is chosen by whoever holds an admin key, and rapport requests it from inside
its own network. Without a guard that is a way to reach the database, the cloud metadata
service (169.254.169.254) or anything else listening privately (server-side request forgery).
So the host is resolved and every address it resolves to must be public; the request then
connects to one of those addresses, not to a second lookup's answer that DNS could change.
"""

import http.client
import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from rapport.events import conf

SCHEMES = {"http": 80, "https": 443}
RESPONSE_LIMIT = 1000  # characters of a receiver's answer kept for the delivery log
PRINTABLE_ASCII = "".join(chr(code) for code in range(33, 127))
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class UnsafeURL(Exception):
    """The URL is not one rapport will send to; the message says why."""


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect, and what to ask for there."""

    scheme: str
    host: str  # as written in the URL: the Host header and the TLS server name
    port: int
    path: str  # path and query
    addresses: tuple[str, ...]  # the resolved addresses, every one of them allowed


@dataclass(frozen=True)
class Answer:
    status: int
    body: str  # the first RESPONSE_LIMIT characters


def _refusal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why an address is off limits, or None for a public one."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address.teredo:
            embedded = address.teredo[1]
        if embedded is None and address in NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return _refusal(embedded)
    for name, is_it in (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
        ("not public", not address.is_global),
    ):
        if is_it:
            return name
    return None


def _resolve(host: str, port: int, timeout: float) -> list[str]:
    """The host's addresses, or UnsafeURL when it does not resolve within `timeout`."""
    found: list = []
    failure: list[OSError] = []

    def lookup() -> None:
        try:
            found.extend(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except (OSError, UnicodeError) as error:
            failure.append(OSError(str(error)))

    # getaddrinfo takes no timeout; a daemon thread lets a hung resolver be abandoned.
    thread = threading.Thread(target=lookup, name="webhook-dns", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise UnsafeURL(f"The host {host} did not resolve within {timeout:g} seconds")
    if failure or not found:
        raise UnsafeURL(f"The host {host} does not resolve")
    addresses = []
    for _family, _type, _proto, _name, sockaddr in found:
        if sockaddr[0] not in addresses:
            addresses.append(sockaddr[0])
    return addresses


def check_url(url: str, *, resolve: bool = True) -> Target:
    """The URL's target if rapport may send to it, else UnsafeURL saying why.

    Only http and https, no credentials in the URL, and every address the host resolves to
    public, unless RAPPORT_WEBHOOK_ALLOW_PRIVATE is on or the host is in
    RAPPORT_WEBHOOK_ALLOWED_HOSTS. With `resolve=False` a host that needs no check is not
    looked up (the addresses are then empty).
    """
    if any(ord(character) < 33 or ord(character) == 127 for character in url):
        raise UnsafeURL("The URL may not hold spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise UnsafeURL(f"The URL is not valid ({error})") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise UnsafeURL("Use an http:// or https:// URL")
    host = (parts.hostname or "").lower()
    if not host:
        raise UnsafeURL("The URL names no host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeURL("Put no user name or password in the URL")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise UnsafeURL("The host name is not valid") from None
    port = port or SCHEMES[scheme]
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    path = quote(path, safe=PRINTABLE_ASCII)  # non-ASCII characters, percent-encoded
    trusted = conf.allow_private() or host in conf.allowed_hosts()
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [str(literal)]
    elif trusted and not resolve:
        addresses = []
    else:
        addresses = _resolve(host, port, conf.dns_timeout())
    if not trusted:
        for address in addresses:
            why = _refusal(ipaddress.ip_address(address.split("%", 1)[0]))
            if why is not None:
                raise UnsafeURL(f"The host {host} is at a {why} address ({address})")
    return Target(scheme, host, port, path, tuple(addresses))


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the checked addresses while the Host header names the URL's host."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self.addresses = target.addresses

    def _open_socket(self) -> socket.socket:
        last_error: OSError = OSError("No address to connect to")
        for address in self.addresses:
            try:
                return socket.create_connection((address, self.port), self.timeout)
            except OSError as error:
                last_error = error
        raise last_error

    def connect(self) -> None:
        self.sock = self._open_socket()


class _PinnedHTTPSConnection(_PinnedHTTPConnection):
    """The same over TLS: the certificate is checked against the URL's host name (SNI too)."""

    default_port = http.client.HTTPS_PORT

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target, timeout)
        self.context = ssl.create_default_context()

    def connect(self) -> None:
        self.sock = self.context.wrap_socket(self._open_socket(), server_hostname=self.host)


def post(target: Target, body: bytes, headers: dict[str, str], *, timeout: float) -> Answer:
    """POST `body` to the target; OSError (timeouts included) when no answer comes."""
    kind = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    connection = kind(target, timeout)
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        # Only the start is kept; a receiver cannot make rapport read megabytes.
        text = response.read(RESPONSE_LIMIT * 4).decode("utf-8", errors="replace")
        return Answer(status=response.status, body=text[:RESPONSE_LIMIT])
    except http.client.HTTPException as error:
        raise OSError(f"Bad HTTP answer: {error!r}") from None
    finally:
        connection.close()


def elapsed_ms(started: float) -> int:
    return max(0, round((time.monotonic() - started) * 1000))
