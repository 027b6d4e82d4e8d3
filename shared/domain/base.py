"""The base of our pydantic models that validate or answer data (the domain's, the HTTP views').

pydantic builds a model's validator and serializer when its class is defined unless the model defers
it (`defer_build`): then its first validation, dump or JSON schema builds it. A function imports far
more models than its first request touches (a GET of an order imports the return, payment and
routing models its modules name), and every Lambda cold start paid for all of them at import;
deferred, it pays only for the ones it uses, when it uses them (docs/performance.md, "Cold start").
The domain events defer the same way (`shared.domain.events.DomainEvent`). A subclass's own
`model_config` is merged with this one, so it keeps deferring.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class DeferredModel(BaseModel):
    model_config = ConfigDict(defer_build=True)
