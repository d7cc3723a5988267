"""The application keys of accounts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from aiohttp import web

if TYPE_CHECKING:
    from server.accounts.mail import AccountMail

ACCOUNT_MAIL: Final[web.AppKey[AccountMail]] = web.AppKey("account_mail")
