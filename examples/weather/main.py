"""Entry point: `python -m weather.main`."""

import asyncio

from weather.client import ForecastClient
from weather.service import ForecastCache


async def warm_up(cache: ForecastCache) -> None:
    await cache.refresh_all(["Oslo", "Lima", "Kyoto"])


async def serve() -> None:
    cache = ForecastCache(ForecastClient("forecast.internal"))
    asyncio.run(warm_up(cache))
    await cache.watch(["Oslo", "Lima", "Kyoto"])


def main() -> None:
    asyncio.run(serve())


if __name__ == "__main__":
    main()
