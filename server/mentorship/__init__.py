"""Mentorship: profiles, matching, requests and their lifecycle, agreements, goals, action items.

The use cases are split by seam rather than gathered in one service module: `profiles`
(profiles, discovery), `requests` (asking, listing, reading), `transitions` (lifecycle
moves), `agreements`, `goals` (goals and action items) and `expiry`, on the shared
loading and shaping of `records`. Callers import the module of the use case they need;
there is no `service` facade, so each name has one home.
"""
