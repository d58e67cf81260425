"""`rapport serve --with-worker`: the server and the worker run side by side and stop together."""

import os
import signal
import sys
import threading
import time

from rapport.cli.management.commands.serve import supervise

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


def test_when_one_ends_the_other_is_stopped_and_its_status_returned():
    started = time.monotonic()

    status = supervise([[sys.executable, "-c", "raise SystemExit(3)"], SLEEPER])

    assert status == 3
    assert time.monotonic() - started < 20  # the sleeper was stopped, not waited for


def test_a_signal_stops_both_and_leaves_no_child():
    # Given both running, when SIGTERM comes (as from Ctrl-C or a service manager)
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    before = signal.getsignal(signal.SIGTERM)

    status = supervise([SLEEPER, SLEEPER])

    # Then both were stopped, the status is success, and our own handler is back
    timer.join()
    assert status == 0
    assert signal.getsignal(signal.SIGTERM) is before
