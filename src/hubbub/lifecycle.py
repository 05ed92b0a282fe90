"""What storage and brokers share: opened on entering ``async with``, closed on leaving it."""

from __future__ import annotations

import abc
from types import TracebackType
from typing import Self


class Opened(abc.ABC):
    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @abc.abstractmethod
    async def open(self) -> None: ...

    @abc.abstractmethod
    async def close(self) -> None: ...
