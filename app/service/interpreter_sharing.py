"""The console's manners when it shares one interpreter with the gateway thread.

In one process the gateway runs on its own thread (app/proxy/server_thread.py) and the console on the
main one, and only one of them runs Python at a time. A thread that wants the interpreter waits up to
the switch interval before forcing the other to let go, and once it has it, keeps it for a whole
interval while the other waits: two busy threads split the CPU about evenly. A console repaint is
~10 ms of work a second; at 500 requests/s that halved the gateway's speed for the ~5 requests that
arrived meanwhile, which is the slowest 1% (p99 +2-3 ms over headless).

`give_way()` lets go of the interpreter and the CPU for a moment: a gateway thread that is waiting runs
at once and keeps the interpreter for its whole interval, while the console holds it for no longer than one small step
(the request tail calls it between table lines). When nothing waits it costs about a microsecond.
"""
from __future__ import annotations

import os

give_way = getattr(os, "sched_yield", lambda: None)  # releases the interpreter around the system call
