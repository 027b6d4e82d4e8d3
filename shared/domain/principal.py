"""Who is calling: one sales channel, or an operator who sees everything."""

from __future__ import annotations

from dataclasses import dataclass

OPERATOR = "operator"


@dataclass(frozen=True)
class Principal:
    name: str

    @property
    def is_operator(self) -> bool:
        return self.name == OPERATOR

    @property
    def channel(self) -> str | None:
        return None if self.is_operator else self.name

    def can_see(self, channel: str) -> bool:
        return self.is_operator or self.name == channel
