"""Whether a request comes from this site: the one Origin rule of requests and sockets.

A page on another site can make a browser send the person's cookie along; these checks
are what stands between that page and the person's account. Unsafe requests (the
``same_site_only`` middleware) and every WebSocket handshake go through them.
"""

from __future__ import annotations

from aiohttp import web

from server.core.credentials import SESSION_COOKIE, bearer_token
from server.core.errors import Forbidden
from server.core.keys import SETTINGS


def own_origins(request: web.Request) -> set[str]:
    """``PUBLIC_URL``'s origin and the one the request was addressed to.

    The second is the request's own scheme and Host, which a page elsewhere cannot choose.
    """
    return {request.app[SETTINGS].public_origin, f"{request.scheme}://{request.host}"}


def refuse_foreign_origin(request: web.Request, *, what: str = "Requests") -> None:
    """Forbidden when the request names an ``Origin`` other than this site's.

    Without ``Origin`` the request is not from a page; what else it must show is the
    caller's rule (``refuse_cross_site`` for the cookie, a room token for a call).
    """
    origin = request.headers.get("Origin")
    if origin is not None and origin not in own_origins(request):
        raise Forbidden(f"{what} from {origin} are refused.")


def refuse_cross_site(request: web.Request) -> None:
    """Forbidden unless the request provably comes from this site or carries a bearer token.

    The rule, for unsafe methods (from ``same_site_only``) and WebSocket handshakes (whose
    handlers call this before upgrading):

    - a bearer token is enough: no browser attaches one by itself;
    - ``Sec-Fetch-Site``, when sent, must be ``same-origin``. ``same-site`` (a sibling
      subdomain) and ``cross-site`` are other sites; ``none`` is a request the person
      started outside any page (the address bar, a bookmark), which never needs to
      change anything;
    - ``Origin``, when sent, must be ``PUBLIC_URL``'s origin or the origin the request was
      addressed to (its own scheme and Host, which a page elsewhere cannot choose);
    - a request carrying the session cookie must send at least one of the two. Every
      current browser sends ``Origin`` on unsafe requests and ``Sec-Fetch-Site`` on all
      of them, so only a client that is not a browser — or one old enough to be
      unsafe — sends neither; scripts use bearer tokens instead.
    """
    if bearer_token(request) is not None:
        return
    site = request.headers.get("Sec-Fetch-Site")
    origin = request.headers.get("Origin")
    if site is not None and site != "same-origin":
        raise Forbidden(
            "Requests from other sites are refused."
            if site in ("cross-site", "same-site")
            else "Requests not made by a page of this site are refused."
        )
    refuse_foreign_origin(request)
    if site is None and origin is None and SESSION_COOKIE in request.cookies:
        raise Forbidden(
            "This request relies on the sign-in cookie but carries neither Origin nor "
            "Sec-Fetch-Site, so it could come from another site and is refused. "
            "Scripts sign their requests with a bearer token instead."
        )
