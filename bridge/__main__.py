"""`python -m bridge`: run the bridge until SIGINT or SIGTERM.
`python -m bridge --reconcile-once`: reconcile once, log the time and peak RSS, exit."""

import asyncio
import logging
import resource
import signal
import sys

from bridge.accounts import AccountSync
from bridge.component import BridgeComponent
from bridge.config import BridgeConfig
from bridge.occupants import OccupantSync
from bridge.outbox import OutboxConsumer
from bridge.portal import Portal
from bridge.profiles import ProfileSync
from bridge.prosody import ProsodyAccounts, ProsodyProfiles, ProsodyRooms
from bridge.reconciler import Reconciler
from bridge.rooms import RoomSync

log = logging.getLogger("bridge")


def peak_rss_mb() -> float:
    """VmHWM: unlike ru_maxrss it restarts at exec, so a large parent that forked
    this process does not count."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def main(reconcile_once: bool = False) -> None:
    config = BridgeConfig.from_env()
    portal = Portal()
    component = BridgeComponent(config)
    accounts = AccountSync(portal, ProsodyAccounts(component), config)
    profiles = ProfileSync(portal, ProsodyProfiles(component), component)
    prosody_rooms = ProsodyRooms(component)
    rooms = RoomSync(portal, prosody_rooms, config)
    occupants = OccupantSync(portal, prosody_rooms)
    parts = [accounts, profiles, rooms, occupants]
    consumer = OutboxConsumer(component, portal, parts, config.poll_interval)
    reconciler = Reconciler(component, [accounts, profiles, rooms], config.reconcile_interval)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    component.start()
    if reconcile_once:
        online = asyncio.create_task(component.online.wait())
        await asyncio.wait(
            [online, asyncio.create_task(stop.wait())], return_when="FIRST_COMPLETED"
        )
        if online.done():
            await reconciler.reconcile_once()
        log.info("peak RSS %.1f MB", peak_rss_mb())
        await component.stop()
        return
    tasks = [asyncio.create_task(consumer.run()), asyncio.create_task(reconciler.run())]
    tasks.append(asyncio.create_task(profiles.listen()))
    tasks.append(asyncio.create_task(accounts.listen()))
    tasks.append(asyncio.create_task(rooms.run()))
    await stop.wait()
    log.info("stopping")
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await consumer.drain()
    await component.stop()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("slixmpp").setLevel(logging.WARNING)
    asyncio.run(main(reconcile_once="--reconcile-once" in sys.argv[1:]))
