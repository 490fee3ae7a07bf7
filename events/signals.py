"""Signals other apps listen to, so that event management never imports them (it is the higher layer
only for incidents; problems, above it, listen here).

``alert_repeated`` is sent inside the processing transaction, once per alert, when its count reaches
``EVENTS_REPEAT_THRESHOLD`` (10): with ``alert_id`` and ``count``. Problem management will propose a
problem from it. Receivers that do slow work should defer it with ``transaction.on_commit``.
"""

from django.dispatch import Signal

alert_repeated = Signal()
