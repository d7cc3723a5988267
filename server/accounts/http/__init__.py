"""Account endpoints: signup, login, logout, passwords, email links, bearer tokens.

One route table, ``routes``, which the app registers; each handler module (sessions,
links, account, tokens) adds its endpoints to it when it is imported here.
"""

from server.accounts.http import account, links, sessions, tokens
from server.accounts.http.table import routes

__all__ = ["account", "links", "routes", "sessions", "tokens"]
