"""Calendar feeds: secret tokens, and the .ics files materialized under CALENDARS_DIR.

``files`` writes, reads and removes the files; ``builder`` turns a person's sessions
into a feed's bytes (pure); ``service`` holds the use cases (create, rotate, revoke,
whose feeds a change touches) and reads the rows; ``listener`` rewrites the files in
every process when a calendar changes. The app wires ``Feeds`` and ``feed_context``.
"""

from server.ical.feeds.listener import feed_context
from server.ical.feeds.service import Feeds

__all__ = ["Feeds", "feed_context"]
