"""Signals other apps listen to, so that incident management never imports them.

``incident_changed`` is sent inside the writing transaction after every change, with ``incident``
(the saved row), ``actor`` and ``fields`` (the names that changed, plus markers such as "created",
"comment", "merged", "escalated"). Receivers that do slow work should defer it with
``transaction.on_commit``.
"""

from django.dispatch import Signal

incident_changed = Signal()
