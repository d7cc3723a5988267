"""Fetching a busy calendar by URL: a conditional GET, bounded in time, size and reach.

Only public addresses are fetched (unless the operator allows private ones): every
connection, redirects included, goes through a resolver that hands the connector only
the addresses it checked, so a name that rebinds to 127.0.0.1 after the check never
reaches it. Failures are ``FetchError``s whose message is for the calendar's owner.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

from server.config import Settings
from server.core.errors import field_error

MAX_REDIRECTS = 5
USER_AGENT = "Meridian calendar import (+https://meridian.example)"


class FetchError(Exception):
    """A fetch that produced no usable calendar; the message is for the calendar's owner."""


@dataclass(frozen=True, slots=True)
class Fetched:
    data: bytes | None  # None: not modified since the last good copy
    etag: str | None
    last_modified: str | None


def normalize_url(raw: str) -> str:
    """An http(s) URL to fetch; webcal:// is https:// by another name."""
    url = raw.strip()
    if url.lower().startswith("webcal://"):
        url = "https://" + url[len("webcal://") :]
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise field_error(
            "url", "Enter the calendar's address, starting with https:// or webcal://."
        )
    return url


# Ranges ``ipaddress`` calls global although they lead somewhere else: NAT64 prefixes
# carry an IPv4 address that a gateway connects to, and ::a.b.c.d is the deprecated
# IPv4-compatible form. (6to4, 2002::/16, and IPv4-mapped addresses are judged by the
# IPv4 address they embed.)
NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
PRIVATE_HOST = (
    "The host {host} is inside a private network; Meridian only fetches public calendars."
)


class PrivateAddress(FetchError):
    """The host leads only to addresses inside a private network."""

    def __init__(self, host: str) -> None:
        super().__init__(PRIVATE_HOST.format(host=host))


def is_public_address(text: str) -> bool:
    """Whether an address is on the public internet, including any IPv4 address it embeds."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    if address.is_multicast or not address.is_global:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return is_public_address(str(address.ipv4_mapped))
        if address.sixtofour is not None:
            return is_public_address(str(address.sixtofour))
        if any(address in net for net in NAT64) or address in IPV4_COMPATIBLE:
            return False
    return True


class PublicResolver(AbstractResolver):
    """Resolves each name once and hands the connector only the addresses it checked.

    The connector connects to exactly what ``resolve`` returns, so a name that answers
    a public address to a first look-up and 127.0.0.1 to the next (DNS rebinding) never
    reaches the private one. aiohttp skips the resolver for IP literals; ``check_literal``
    covers those.
    """

    def __init__(self, *, allow_private: bool, dns: AbstractResolver | None = None) -> None:
        self.allow_private = allow_private
        self._dns = dns if dns is not None else DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self._dns.resolve(host, port, family)
        if self.allow_private:
            return found
        kept = [r for r in found if is_public_address(r["host"])]
        if not kept:
            raise PrivateAddress(host.rstrip("."))
        return kept

    def check_literal(self, host: str) -> None:
        try:
            ipaddress.ip_address(host)
        except ValueError:
            return
        if not self.allow_private and not is_public_address(host):
            raise PrivateAddress(host)

    async def check(self, url: str) -> None:
        """Refuse a URL whose host leads only inside a private network.

        A host that cannot be resolved right now passes: its fetch reports that.
        """
        host = urlsplit(url).hostname or ""
        self.check_literal(host)
        try:
            ipaddress.ip_address(host)
        except ValueError:
            with contextlib.suppress(OSError):
                await self.resolve(host, 0, socket.AF_UNSPEC)

    async def close(self) -> None:
        await self._dns.close()


async def check_host(url: str, *, allow_private: bool) -> None:
    """Refuse addresses inside the server's own network unless the operator allows them."""
    resolver = PublicResolver(allow_private=allow_private)
    try:
        await resolver.check(url)
    finally:
        await resolver.close()


class CalendarFetcher:
    """The HTTP client of one process's calendar imports, and the resolver it connects by."""

    def __init__(self, settings: Settings, *, dns: AbstractResolver | None = None) -> None:
        self.settings = settings
        self.resolver = PublicResolver(allow_private=settings.busy_allow_private_addresses, dns=dns)
        self._http: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        # Every connection, redirects included, goes through this connector and so
        # connects only to addresses the resolver checked; no cache keeps stale answers.
        connector = aiohttp.TCPConnector(resolver=self.resolver, use_dns_cache=False)
        self._http = aiohttp.ClientSession(
            connector=connector,
            headers={"User-Agent": USER_AGENT, "Accept": "text/calendar, */*;q=0.5"},
            timeout=aiohttp.ClientTimeout(total=self.settings.busy_fetch_timeout_seconds),
        )

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
        await self.resolver.close()

    async def fetch(self, url: str, etag: str | None, last_modified: str | None) -> Fetched:
        """One conditional GET, redirects followed by hand so each hop's host is checked."""
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        seconds = self.settings.busy_fetch_timeout_seconds
        try:
            async with asyncio.timeout(seconds):
                for _ in range(MAX_REDIRECTS + 1):
                    found = await self._get(url, headers)
                    if isinstance(found, Fetched):
                        if found.data is None:
                            return Fetched(None, etag, last_modified)
                        return found
                    url = found
        except TimeoutError:
            raise FetchError(
                f"The calendar server did not answer within {seconds} seconds."
            ) from None
        except aiohttp.ClientError as exc:
            raise FetchError(f"The calendar could not be fetched: {_reason(exc)}.") from None
        raise FetchError(f"The calendar address redirected more than {MAX_REDIRECTS} times.")

    async def _get(self, url: str, headers: dict[str, str]) -> Fetched | str:
        """The calendar, or the address a redirect points to."""
        assert self._http is not None
        self.resolver.check_literal(urlsplit(url).hostname or "")
        limit = self.settings.busy_max_bytes
        async with self._http.get(url, headers=headers, allow_redirects=False) as resp:
            if resp.status in (301, 302, 303, 307, 308):
                location = resp.headers.get("Location", "")
                target = str(resp.url.join(URL(location))) if location else ""
                if urlsplit(target).scheme not in ("http", "https"):
                    raise FetchError(
                        "The calendar server redirected to an address Meridian cannot use."
                    )
                return target
            if resp.status == 304:
                return Fetched(None, None, None)
            if resp.status != 200:
                raise FetchError(f"The calendar server answered {resp.status} {resp.reason}.")
            if resp.content_length is not None and resp.content_length > limit:
                raise FetchError(_too_large(limit))
            chunks, size = [], 0
            async for chunk in resp.content.iter_chunked(64 * 1024):
                size += len(chunk)
                if size > limit:
                    raise FetchError(_too_large(limit))
                chunks.append(chunk)
            return Fetched(
                b"".join(chunks), resp.headers.get("ETag"), resp.headers.get("Last-Modified")
            )


def _too_large(limit: int) -> str:
    return f"The calendar is larger than the {limit // (1024 * 1024)} MiB Meridian accepts."


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text[:200]
