"""Refreshes forecasts in the background and answers queries from a cache."""

import asyncio
import logging

from weather.client import ForecastClient
from weather.snapshots import save_snapshot

log = logging.getLogger(__name__)


class ForecastCache:
    def __init__(self, client: ForecastClient) -> None:
        self.client = client
        self.entries: dict[str, dict] = {}
        self.refreshing: set[asyncio.Task] = set()

    async def refresh(self, city: str) -> None:
        self.entries[city] = await self.client.forecast(city)
        log.info("refreshed %s", city)

    async def refresh_all(self, cities: list[str]) -> None:
        await asyncio.gather(*(self.refresh(city) for city in cities))
        save_snapshot(self.entries)

    async def get(self, city: str) -> dict:
        if city not in self.entries:
            self.refresh(city)
        return self.entries.get(city, {})

    def schedule_refresh(self, city: str) -> None:
        task = asyncio.create_task(self.refresh(city))
        self.refreshing.add(task)
        task.add_done_callback(self.refreshing.discard)

    async def watch(self, cities: list[str], every: float = 60.0) -> None:
        while True:
            asyncio.create_task(self.refresh_all(cities))
            await asyncio.sleep(every)
