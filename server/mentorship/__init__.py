"""Mentorship: profiles, matching, requests and their lifecycle, agreements, goals, action items."""
