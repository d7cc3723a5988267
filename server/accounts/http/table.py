"""The accounts route table, which every handler module of this package adds to, and
the answer shapes several of them share.
"""

from __future__ import annotations

from aiohttp import web

from server.accounts.models import User
from server.accounts.schemas import UserEnvelope, UserOut
from server.core.api import Routes
from server.core.errors import Problem
from server.core.keys import SETTINGS

routes = Routes("accounts")

NO_MAIL = (
    "This server has no mail set up, so it cannot send links. "
    "Ask the person who runs it to set SMTP_HOST."
)


def user_envelope(user: User) -> UserEnvelope:
    """The account as every endpoint that answers with it shapes it."""
    return UserEnvelope(user=UserOut.model_validate(user, from_attributes=True))


def no_mail_unless_enabled(request: web.Request) -> None:
    """Refuse (503) what would mail a link, on a server that cannot send one."""
    if not request.app[SETTINGS].email_enabled:
        raise Problem(503, NO_MAIL, title="Mail is not configured")
