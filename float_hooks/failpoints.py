"""Named points on the write paths where the fault-injection tests stop a process.

``FLOAT_FAILPOINT=<name>`` in the environment makes the process stop itself (SIGSTOP) when it
reaches that point, so a test knows it is inside the transaction (or between a journal append
and the commit) when it sends SIGKILL. Before it stops, it writes ``float-hooks: failpoint
<name>`` on stderr: the test finds that line, and so knows the stop was this point's and not
some other stop (a job-control SIGTTIN, say). Unset, a point costs one comparison with None.
"""

from __future__ import annotations

import os
import signal

_WANTED = os.environ.get("FLOAT_FAILPOINT") or None


def reached(name: str) -> None:
    if _WANTED is not None and name == _WANTED:
        os.write(2, f"float-hooks: failpoint {name}\n".encode())
        os.kill(os.getpid(), signal.SIGSTOP)
