"""Pause points: named places where a long stage can be made to stop itself part-way.

The fault tests kill the workflow with SIGKILL in the middle of each long stage and check that
the rerun loses nothing. Catching a stage "in the middle" by watching it from outside is a race
(a stage can finish between two looks), so each long stage calls :func:`pause_point` once it has
done some of its work and left it on disk: a checkpoint written, a chunk of action values stored,
a first batch of games played. When the point's name is listed in the environment variable
:data:`PAUSE_ENV` (comma-separated), the process stops itself with SIGSTOP and waits there, where
the test finds it stopped and kills it. Unset (every real run), a pause point costs one lookup.

Names: ``synthetic_games``, ``action_values``, ``train_simulator``, ``rlft``, ``ladder``.
"""

from __future__ import annotations

import logging
import os
import signal

PAUSE_ENV = "SIMAGENTS_PAUSE_AT"

log = logging.getLogger(__name__)


def pause_point(name: str) -> None:
    """Stop this process here (SIGSTOP) if ``name`` is listed in ``$SIMAGENTS_PAUSE_AT``."""
    names = os.environ.get(PAUSE_ENV)
    if names and name in names.split(","):
        log.warning("stopping at pause point %r (%s is set): a test kills the process here", name, PAUSE_ENV)
        for handler in logging.getLogger().handlers:
            handler.flush()
        os.kill(os.getpid(), signal.SIGSTOP)
