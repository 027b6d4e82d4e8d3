"""Answers of the people routes (admin-api): the list, and a person changed with who changed them."""

from __future__ import annotations

from pydantic import Field

from shared.domain.base import DeferredModel
from shared.domain.people import Person
from shared.services.people import PersonChanged


class PeoplePage(DeferredModel):
    people: list[Person]


class PersonWritten(DeferredModel):
    person: Person
    updated_by: str = Field(description="Who made the change: user:<username>, or operator for the machine key")

    @classmethod
    def of(cls, changed: PersonChanged) -> PersonWritten:
        return cls(person=changed.person, updated_by=changed.updated_by)
