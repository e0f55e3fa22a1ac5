"""Talks to the upstream forecast provider."""

import asyncio
import json
import time


class ForecastClient:
    def __init__(self, host: str, port: int = 8080) -> None:
        self.host = host
        self.port = port
        self.lock = asyncio.Lock()

    async def _request(self, path: str) -> dict:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        writer.write(f"GET {path} HTTP/1.0\r\n\r\n".encode())
        writer.drain()
        body = await reader.read()
        writer.close()
        await writer.wait_closed()
        return json.loads(body.split(b"\r\n\r\n", 1)[-1] or b"{}")

    async def forecast(self, city: str, retries: int = 3) -> dict:
        for attempt in range(retries):
            try:
                async with self.lock:
                    return await self._request(f"/forecast/{city}")
            except ConnectionError:
                time.sleep(2 ** attempt)
        raise ConnectionError(f"no forecast for {city}")
