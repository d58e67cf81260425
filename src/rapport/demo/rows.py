"""What every maker of demo rows beside the core's shares: its own random streams."""

import datetime as dt
import random
from collections.abc import Sequence
from typing import TypeVar

from rapport.demo.businesses import Business
from rapport.demo.locales import Locale

T = TypeVar("T")
# The bits uuid.UUID(version=4) sets: the version (4) and the RFC 4122 variant.
UUID_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
UUID_SET = (0x4000 << 64) | (0x8000 << 48)


class AppRows:
    """An optional app's random streams: one for its draws, one for its rows' UUIDs."""

    app = ""

    def __init__(
        self,
        *,
        seed: int,
        tenant_id: int,
        locale: Locale,
        business: Business,
        now: dt.datetime,
        first_index: int = 0,
    ) -> None:
        again = "" if first_index == 0 else f":{first_index}"
        self.random = random.Random(f"{self.app}:{seed}{again}")
        self.uuid_bits = random.Random(
            f"{self.app}-uuids:{seed}:{tenant_id}:{first_index}"
        ).getrandbits
        self.tenant_id = tenant_id
        self.locale = locale
        self.business = business
        self.now = now.timestamp()

    def _uuid(self) -> str:
        """A version 4 UUID in its text form: what uuid.UUID(int=…, version=4) gives, faster."""
        text = f"{(self.uuid_bits(128) & UUID_CLEAR) | UUID_SET:032x}"
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"

    def _pick(self, values: Sequence[T]) -> T:
        """One of `values`, equally likely (`random.choice` costs three times as much)."""
        return values[int(self.random.random() * len(values))]

    @staticmethod
    def _when(seconds: float) -> dt.datetime:
        return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)

    def _later(self, after: float, within: float) -> float:
        """A moment after `after` (by up to `within` seconds), and never after now."""
        return min(self.now, after + 1 + within * self.random.random())
