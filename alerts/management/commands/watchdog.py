"""``manage.py watchdog``: Pharos watching itself (config.watchdog). Run exactly one."""

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from config.watchdog import Watchdog


class Command(BaseCommand):
    help = "Evaluate Pharos's own health every PHAROS_WATCHDOG_INTERVAL seconds; mail the operators and ping PHAROS_WATCHDOG_URL."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="evaluate once, print what failed, and exit")

    def handle(self, *args: Any, once: bool = False, **options: Any) -> None:
        watchdog = Watchdog()
        if once:
            step = watchdog.step()
            self.stdout.write("failing: " + (", ".join(step.failing) or "nothing"))
            return
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        watchdog.run(stop)
