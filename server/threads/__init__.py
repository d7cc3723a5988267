"""Threads: messages, tus uploads, media probing, playback, receipts."""
