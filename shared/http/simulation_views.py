"""What the routing simulations API answers (shared/domain/routing_simulation.py holds the job)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Path
from pydantic import ConfigDict, Field

from shared.domain.base import DeferredModel
from shared.domain.routing_simulation import SimulationJob, SimulationStatus

SimulationPath = Annotated[str, Path(pattern=r"^sim-[0-9a-f]{24}$", description="As POST answered it")]


class ProgressView(DeferredModel):
    orders_done: int = Field(description="Orders of the period read so far")
    orders_estimated: int | None = Field(description="All the period's orders, estimated from the share of the "
                                                     "period read so far (orders are read oldest first); exact "
                                                     "once DONE; null before the first chunk")
    fraction: float


class SimulationView(DeferredModel):
    """A simulation: what was asked, where it stands, and once DONE the figures side by side (`result`:
    `orders` (read, replayed, changed, locations_changed, baseline_differs_from_record,
    replayed_on_a_capped_picture, not_replayable),
    `baseline` and `candidate` (parcels per order, split rate, distance, cost, CO2e, promised_by, backorders,
    holds, load per location and day), `sample` (changed orders with both decisions); see docs/routing-replay.md)."""

    model_config = ConfigDict(populate_by_name=True)
    simulation_id: str
    status: SimulationStatus
    location: str = Field(description="Where to read it")
    from_: date = Field(alias="from")
    to: date
    strategies: list[str] = Field(description="The candidate set's strategy ids")
    sample_size: int
    requested_by: str
    created_at: datetime
    updated_at: datetime
    progress: ProgressView
    error: str | None = None
    result: dict[str, Any] | None = Field(default=None, description="Once DONE")

    @classmethod
    def of(cls, job: SimulationJob) -> SimulationView:
        from shared.domain.routing_replay import ReplayTally

        req = job.request
        result = None
        if job.status is SimulationStatus.DONE and job.state is not None:
            result = ReplayTally.from_state(job.state).result()
        return cls.model_validate({
            "simulation_id": job.simulation_id, "status": job.status, "location": f"/routing/simulations/{job.simulation_id}",
            "from": req.from_, "to": req.to, "strategies": [s.strategy_id for s in req.strategies],
            "sample_size": req.sample_size, "requested_by": job.requested_by, "created_at": job.created_at,
            "updated_at": job.updated_at, "progress": ProgressView(**job.progress()), "error": job.error,
            "result": result})
