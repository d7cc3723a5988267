"""The whole schema: every feature's tables, loaded onto the one shared metadata.

Each feature declares its tables in its own ``models.py``; this is the one module that
imports them all, for Alembic's autogenerate (``migrations/env.py``) and for whatever
must see every table at once (the schema tests).
"""

from __future__ import annotations

from sqlalchemy import MetaData

from server.accounts import models as accounts
from server.db.base import Base
from server.ical import models as ical
from server.live import models as live
from server.mentorship import models as mentorship
from server.notifications import models as notifications
from server.scheduling import models as scheduling
from server.threads import models as threads

FEATURE_MODELS = (accounts, mentorship, notifications, scheduling, threads, ical, live)

metadata: MetaData = Base.metadata
