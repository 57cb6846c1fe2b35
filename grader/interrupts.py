"""Signals that stop a run: SIGINT, SIGTERM and SIGHUP raise :class:`Interrupted`, except
inside clean-up that must finish (:func:`deferred_interrupts`).

Only the standard library's ``signal`` here: the command line enters :func:`interrupts` before
it knows its command, and ``dlgrade --help`` must not pay for pytest or numpy."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

INTERRUPT_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(KeyboardInterrupt):
    """The run was stopped by a signal (SIGINT: Ctrl-C, SIGTERM: ``timeout``, systemd, a
    cancelled CI job, SIGHUP: the terminal went away). Everything it started has been ended
    and removed by the time this reaches the caller, who exits with :attr:`exit_code`."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name


@dataclass
class _Signals:
    """What the interrupt handler knows. Signal handlers are the process's, so this is too:
    one per process, touched only by :func:`interrupts` and :func:`deferred_interrupts`."""

    seen: int = 0  # the first signal received (0: none)
    deferring: int = 0  # nesting of deferred_interrupts()
    pending: bool = False  # a signal arrived while deferring: raise when it ends


_SIGNALS = _Signals()


@contextmanager
def interrupts() -> Iterator[None]:
    """While inside: SIGINT, SIGTERM and SIGHUP raise :class:`Interrupted` in the main thread,
    the first one only (a second signal must not cut the clean-up short), and not inside
    :func:`deferred_interrupts` (it is raised when that ends). Outside the main thread it does
    nothing."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        if _SIGNALS.seen:
            return
        _SIGNALS.seen = signum
        if _SIGNALS.deferring:
            _SIGNALS.pending = True
            return
        raise Interrupted(signum)

    before = {sig: signal.signal(sig, handler) for sig in INTERRUPT_SIGNALS}
    try:
        yield
    finally:
        for sig, old in before.items():
            signal.signal(sig, old)
        _SIGNALS.seen, _SIGNALS.pending = 0, False


@contextmanager
def deferred_interrupts() -> Iterator[None]:
    """Clean-up that an interrupt must not cut short (ending workers, removing folders): a
    signal that arrives meanwhile is raised as :class:`Interrupted` when the block ends."""
    _SIGNALS.deferring += 1
    try:
        yield
    finally:
        _SIGNALS.deferring -= 1
        if not _SIGNALS.deferring and _SIGNALS.pending:
            _SIGNALS.pending = False
            raise Interrupted(_SIGNALS.seen)
