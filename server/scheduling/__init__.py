"""Scheduling: availability, slots, bookings without double booking, series, reminders."""
