"""`python -m bridge`: run the bridge until SIGINT or SIGTERM."""

import asyncio
import logging
import signal

from bridge import portal
from bridge.accounts import AccountSync
from bridge.component import BridgeComponent
from bridge.config import BridgeConfig
from bridge.outbox import OutboxConsumer
from bridge.profiles import ProfileSync
from bridge.prosody import ProsodyAccounts, ProsodyProfiles, ProsodyRooms
from bridge.reconciler import Reconciler
from bridge.rooms import RoomSync

log = logging.getLogger("bridge")


async def main() -> None:
    config = BridgeConfig.from_env()
    portal.setup_django()
    component = BridgeComponent(config)
    accounts = AccountSync(ProsodyAccounts(component), config)
    profiles = ProfileSync(ProsodyProfiles(component), component)
    rooms = RoomSync(ProsodyRooms(component), config)
    handlers = {"account": accounts.apply, "profile": profiles.apply, "room": rooms.apply}
    consumer = OutboxConsumer(component, handlers, config.poll_interval)
    reconciler = Reconciler(component, [accounts, profiles, rooms], config.reconcile_interval)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    component.start()
    tasks = [asyncio.create_task(consumer.run()), asyncio.create_task(reconciler.run())]
    tasks.append(asyncio.create_task(profiles.listen()))
    tasks.append(asyncio.create_task(rooms.run()))
    await stop.wait()
    log.info("stopping")
    for task in tasks:
        task.cancel()
    await component.stop()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("slixmpp").setLevel(logging.WARNING)
    asyncio.run(main())
