"""The application keys of accounts: account mail, and the cache of resolved credentials."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from aiohttp import web

if TYPE_CHECKING:
    from server.accounts.auth import IdentityCache
    from server.accounts.mail import AccountMail

ACCOUNT_MAIL: Final[web.AppKey[AccountMail]] = web.AppKey("account_mail")
IDENTITY_CACHE: Final[web.AppKey[IdentityCache]] = web.AppKey("identity_cache")
