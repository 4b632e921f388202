"""Reporting a console worker (a form's save, a screen's load) that failed unexpectedly."""
from __future__ import annotations

import logging

from textual.worker import Worker, WorkerState

log = logging.getLogger("bifrost.console")


def report_worker_error(node, event: Worker.StateChanged) -> None:
    """A worker that failed unexpectedly: log it (to the log file, never the terminal) and say so.
    The console shares its process with the gateway, so a bug here must not end the app."""
    worker = event.worker
    if event.state == WorkerState.ERROR and worker.error is not None:
        log.error("console task %s failed", worker.name,
                  exc_info=(type(worker.error), worker.error, worker.error.__traceback__))
        node.notify(f"{worker.name or 'task'} failed: {type(worker.error).__name__}: {worker.error}",
                    severity="error", timeout=8)
