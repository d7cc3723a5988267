"""Notifications: stored in-app, announced live on the bus channel ``user:<id>``."""
