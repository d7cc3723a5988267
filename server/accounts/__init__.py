"""Accounts: signup, login, sessions, bearer tokens, passwords."""
