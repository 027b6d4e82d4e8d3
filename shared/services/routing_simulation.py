"""What-if simulations of routing strategies over past orders: start one, run it a chunk at a time,
read where it stands.

1. `start_simulation` (routing-simulations-api, POST): checks the candidate set as a PUT of each strategy
   would be checked, writes the job QUEUED with the network every chunk replays against (the locations,
   shipping profile and channel policies as they are then) and queues its first chunk.
2. `run_chunk` (simulate-routing, from the routing-simulations queue): reads on from the job's cursor
   through the orders captured in the period (gsi3, by month, in creation order), replays each against
   the picture its first routing saw (shared/domain/routing_replay.py), and writes the figures so far,
   the cursor and the next chunk number in one conditional write on the chunk number it read: a
   redelivered message finds the chunk counted and adds nothing. Then it queues the next chunk and marks
   the job `queued`. A redelivered message of a counted chunk whose successor was never marked queued
   (the function died between the write and the send) queues it: a duplicate of it is counted once too.
   No stock, reservation or order is written: the replay reads orders and writes only the job.
3. `read_simulation` (GET): status, progress and, once DONE, the side-by-side figures.

A chunk ends after CHUNK_ORDERS orders or CHUNK_SECONDS (Lambda stops a function at 15 minutes), at a
page boundary of the listing, so the cursor always points at the first order not yet read.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel

from shared.adapters.orders_repo import OrderFilter
from shared.adapters.simulations_repo import StateTooLarge
from shared.config import ChannelPolicy
from shared.domain.orders import Order
from shared.domain.principal import Principal
from shared.domain.routing_replay import Candidates, ReplayTally, case_of, replay, replayable
from shared.domain.routing_simulation import ReplayNetwork, SimulationJob, SimulationRequest, SimulationStatus
from shared.domain.routing_strategy import DEFAULT_STRATEGY, DEFAULT_STRATEGY_ID, RoutingStrategy
from shared.domain.shipping_profile import DEFAULT_SHIPPING_PROFILE, ShippingProfile
from shared.errors import AccessDenied, Conflict, InvalidInput, NotFound, Unavailable
from shared.observability import logger
from shared.repositories import Repositories
from shared.unit_of_work import AlreadyExists, CommitFailed, Refused

SIMULATIONS_QUEUE = "routing-simulations"
CHUNK_ORDERS = 20_000
CHUNK_SECONDS = 600.0
PAGE_ORDERS = 500
MAX_REQUEST_CHARS = 64_000  # the request is kept on the job item beside the figures

# The queue's maxReceiveCount (infra/wiring.py QueueSpec): after this many deliveries the message goes to the DLQ.
LAST_RECEIVE = 5
# simulate-routing's timeout (infra/wiring.py) and a margin: a delivery started longer ago has ended.
DELIVERY_ENDS = timedelta(seconds=900) + timedelta(minutes=5)
# A job whose current chunk's message was not marked sent this long after the job (or its last chunk) was
# written: the function that wrote it died before queueing, and a read of the job queues it.
UNQUEUED_AFTER = timedelta(minutes=2)

Send = Callable[[list[str]], None]


class SimulationMessage(BaseModel):
    simulation_id: str
    chunk: int


def send_to_queue(bodies: list[str]) -> None:
    from shared.adapters.queues import send

    send(SIMULATIONS_QUEUE, bodies)


def _message(simulation_id: str, chunk: int) -> str:
    return SimulationMessage(simulation_id=simulation_id, chunk=chunk).model_dump_json()


def _queue(job: SimulationJob, repos: Repositories, send: Send) -> SimulationJob:
    """Send the message for the job's current chunk, then mark it sent. A failure to send raises (the job
    stays unmarked, so a redelivery or a later read sends it); a failure to mark only risks a duplicate."""
    send([_message(job.simulation_id, job.chunk)])
    try:
        repos.commit(repos.simulations.mark_queued(job.simulation_id, job.chunk))
    except CommitFailed:
        pass  # that chunk was recorded (or the job failed) meanwhile: nothing left to mark
    return replace(job, queued=True)


def _operator(principal: Principal) -> None:
    if not principal.is_operator:
        raise AccessDenied("only an operator may run routing simulations")


# ------------------------------------------------------------------ start and read


def start_simulation(request: SimulationRequest, principal: Principal, repos: Repositories, now: datetime,
                     send: Send = send_to_queue) -> SimulationJob:
    """The job, QUEUED and its first chunk queued; with a `request_id` used before for the same body,
    that simulation (Conflict for another body), its first chunk queued now if it never was.

    When the queue cannot be reached (Unavailable, 503), a job with a `request_id` stays QUEUED: the same
    request sent again queues it and answers it. One without is failed: nobody could ask for it again."""
    _operator(principal)
    _check_period(request, now)
    _check_candidates(request, repos, now)
    doc = request.model_dump_json(by_alias=True)
    if len(doc) > MAX_REQUEST_CHARS:
        raise InvalidInput(f"the candidate set takes {len(doc)} characters, over {MAX_REQUEST_CHARS}",
                           field="strategies")
    fingerprint = hashlib.sha256(doc.encode()).hexdigest()
    if request.request_id is not None:
        simulation_id = "sim-" + hashlib.sha256(f"{principal.name}\n{request.request_id}".encode()).hexdigest()[:24]
    else:
        simulation_id = "sim-" + uuid.uuid4().hex[:24]
    job = SimulationJob(simulation_id, SimulationStatus.QUEUED, request, fingerprint, principal.name, now, now)
    try:
        repos.commit(repos.simulations.create(job, network_now(repos, now)))
    except Refused as refused:
        existing = next((o.existing for o in refused.outcomes  # the job's refusal (its network's carries none)
                         if isinstance(o, AlreadyExists) and isinstance(o.existing, SimulationJob)), None)
        if existing is None:
            raise
        if existing.fingerprint != fingerprint:
            raise Conflict("this request_id started another simulation, with another body",
                           field="request_id") from None
        if existing.queued or existing.status not in (SimulationStatus.QUEUED, SimulationStatus.RUNNING):
            return existing
        job = existing  # its message was never marked sent (the send failed, or the request ended first)
    try:
        job = _queue(job, repos, send)
    except Exception as error:  # noqa: BLE001 - any failure to queue: retried, or failed, never hanging
        if request.request_id is None:
            try:
                repos.commit(repos.simulations.finish_failed(job, f"could not be queued ({type(error).__name__})",
                                                             now))
            except Refused:
                pass
            raise Unavailable("the simulation could not be queued; send the request again") from error
        raise Unavailable("the simulation could not be queued: it is kept QUEUED; send the same request with "
                          "the same request_id again to queue it") from error
    return job


def network_now(repos: Repositories, now: datetime) -> ReplayNetwork:
    """The locations, shipping profile and channel policies as they are: every chunk replays against these."""
    from shared.domain.channels import SEED_CHANNELS, ChannelSettings, policy_of

    stored = repos.routing.profile()
    settings = dict(SEED_CHANNELS) | {c.channel_id: c.settings for c in repos.channels.configured()}
    return ReplayNetwork(tuple(repos.locations.all()), stored.profile if stored else DEFAULT_SHIPPING_PROFILE,
                         {c: policy_of(s) for c, s in settings.items()}, policy_of(ChannelSettings()))


def _check_period(request: SimulationRequest, now: datetime) -> None:
    """No order is captured after today: a period starting or ending after tomorrow (UTC, a day's grace
    for the caller's clock) is a mistake."""
    latest = (now + timedelta(days=1)).date()
    for name, day in (("from", request.from_), ("to", request.to)):
        if day > latest:
            raise InvalidInput(f"must not be after {latest} (tomorrow, UTC): no order is captured later",
                               field=name)


def _check_candidates(request: SimulationRequest, repos: Repositories, now: datetime) -> None:
    """Each candidate as a PUT of it would be checked (channels and locations it names, contradictions
    with a channel's policy), the error naming its place in the set."""
    from shared.services.routing_strategies import check_strategy

    for i, candidate in enumerate(request.strategies):
        try:
            check_strategy(candidate, repos, now)
        except InvalidInput as error:
            raise InvalidInput(error.message, field=f"strategies.{i}.{error.field or 'criteria'}") from None


def read_simulation(simulation_id: str, principal: Principal, repos: Repositories, now: datetime | None = None,
                    send: Send = send_to_queue) -> SimulationJob:
    """The job; given `now`, one that no delivery can move on any more is settled first (`_settle`)."""
    _operator(principal)
    job = repos.simulations.get(simulation_id)
    if job is None:
        raise NotFound(f"no simulation {simulation_id}", field="simulation_id")
    return job if now is None else _settle(job, repos, now, send)


def _settle(job: SimulationJob, repos: Repositories, now: datetime, send: Send) -> SimulationJob:
    """A job no message will move on any more, as a read finds it: FAILED with the reason when the last
    delivery the queue allows of its chunk started long enough ago to have ended (it died: a timeout or
    out of memory, and the message is in the DLQ); its chunk queued when the function that wrote the job or
    its last chunk died before queueing it (a duplicate is counted once)."""
    if job.status not in (SimulationStatus.QUEUED, SimulationStatus.RUNNING):
        return job
    if job.last_try_at is not None and now - job.last_try_at > DELIVERY_ENDS:
        reason = (f"chunk {job.chunk} did not finish in its last delivery ({LAST_RECEIVE} of {LAST_RECEIVE}, started "
                  f"{job.last_try_at.isoformat()}): the function timed out or ran out of memory (see the "
                  "simulate-routing logs; the message is in the routing-simulations DLQ). Start the simulation "
                  "again")
        try:
            repos.commit(repos.simulations.finish_failed(job, reason, now))
        except Refused:
            pass  # it moved on meanwhile
        return repos.simulations.get(job.simulation_id) or job
    if not job.queued and now - job.updated_at > UNQUEUED_AFTER:
        try:
            return _queue(job, repos, send)
        except Exception:  # noqa: BLE001 - the next read tries again
            logger.exception("simulation: could not queue a stalled chunk", extra={"simulation_id": job.simulation_id})
    return job


def fail_simulation(simulation_id: str, reason: str, repos: Repositories, now: datetime) -> None:
    """FAILED with `reason` (a message that failed its last delivery), unless it is DONE."""
    job = repos.simulations.get(simulation_id)
    if job is None or job.status in (SimulationStatus.DONE, SimulationStatus.FAILED):
        return
    try:
        repos.commit(repos.simulations.finish_failed(job, reason, now))
    except Refused:
        pass  # it finished meanwhile


# ------------------------------------------------------------------ the worker


class ChunkOutcome(StrEnum):
    CONTINUES = "CONTINUES"  # chunk counted, the next one queued
    DONE = "DONE"  # the last chunk: the figures are final
    DUPLICATE = "DUPLICATE"  # this chunk was counted already (a redelivery, or another worker won)
    REQUEUED = "REQUEUED"  # the chunk was counted but its successor never marked sent: queued (again)
    CLOSED = "CLOSED"  # the job is DONE or FAILED
    NOT_FOUND = "NOT_FOUND"
    FAILED = "FAILED"  # the figures outgrew the job item


@dataclass
class _Context:
    """What every order of a chunk is replayed with, read once per chunk: the network kept with the job
    (or, for a job from before networks were kept, the live one)."""

    repos: Repositories
    candidate_set: list[RoutingStrategy]
    profile: ShippingProfile
    candidates: Candidates
    network: ReplayNetwork | None = None
    policies: dict[str, ChannelPolicy] = field(default_factory=dict)
    baselines: dict[tuple[str, int], RoutingStrategy | None] = field(default_factory=dict)

    def policy(self, channel: str) -> ChannelPolicy:
        if self.network is not None:
            return self.network.policy(channel)
        if channel not in self.policies:
            self.policies[channel] = self.repos.channels.policy(channel)
        return self.policies[channel]

    def baseline(self, strategy_id: str, version: int) -> RoutingStrategy | None:
        key = (strategy_id, version)
        if key not in self.baselines:
            self.baselines[key] = (DEFAULT_STRATEGY if strategy_id == DEFAULT_STRATEGY_ID
                                   else self.repos.routing.version(strategy_id, version))
        return self.baselines[key]


def run_chunk(message: SimulationMessage, repos: Repositories, now: datetime, *, send: Send = send_to_queue,
              max_orders: int = CHUNK_ORDERS, seconds: float = CHUNK_SECONDS,
              clock: Callable[[], float] = time.monotonic, receive_count: int = 1) -> ChunkOutcome:
    """One delivery of `message` (its `receive_count`-th, as SQS counts them)."""
    job = repos.simulations.get(message.simulation_id)
    if job is None:
        return ChunkOutcome.NOT_FOUND
    if job.status in (SimulationStatus.DONE, SimulationStatus.FAILED):
        return ChunkOutcome.CLOSED
    if message.chunk != job.chunk:
        if message.chunk == job.chunk - 1 and not job.queued:
            # Counted, but its successor was never marked sent: the delivery that counted it died (or
            # failed to send) before queueing on. Queue it; a duplicate of it is counted once.
            _queue(job, repos, send)
            return ChunkOutcome.REQUEUED
        return ChunkOutcome.DUPLICATE
    if receive_count >= LAST_RECEIVE:
        # The last delivery the queue allows: if it dies, a read of the job fails it (`_settle`).
        try:
            repos.commit(repos.simulations.last_try(job.simulation_id, job.chunk, now))
        except Refused:
            return ChunkOutcome.DUPLICATE  # another delivery recorded this chunk meanwhile
    started = clock()
    req = job.request
    network = repos.simulations.network(job.simulation_id)
    profile = network.profile if network else repos.routing.profile_cached()
    tally = (ReplayTally.from_state(job.state) if job.state
             else ReplayTally(currency=profile.currency, sample_size=req.sample_size))
    ctx = _Context(repos, [c.as_strategy(job.created_at) for c in req.strategies], profile,
                   Candidates(network.locations if network else repos.locations.all_cached()), network)
    period = OrderFilter(created_from=req.starts, created_to=req.ends - timedelta(microseconds=1))
    months, cursor, reached, read = req.months(), job.cursor, job.reached, 0
    while True:
        page, cursor = repos.orders.list(period, min(PAGE_ORDERS, max_orders - read), cursor, months)
        for order in page:
            _replay_order(order, tally, ctx)
            reached = order.created_at
        read += len(page)
        if cursor is None or read >= max_orders or clock() - started >= seconds:
            break
    finished = cursor is None
    done = replace(job, status=SimulationStatus.DONE if finished else SimulationStatus.RUNNING, chunk=job.chunk + 1,
                   cursor=cursor, reached=reached, state=tally.to_state(), queued=False,
                   updated_at=now + timedelta(seconds=clock() - started))
    try:
        repos.commit(repos.simulations.advance(done, job.chunk))
    except StateTooLarge as error:
        repos.commit(repos.simulations.finish_failed(job, str(error), now))
        return ChunkOutcome.FAILED
    except Refused:
        return ChunkOutcome.DUPLICATE  # another delivery of this chunk recorded it first
    if finished:
        return ChunkOutcome.DONE
    _queue(done, repos, send)
    return ChunkOutcome.CONTINUES


def _replay_order(order: Order, tally: ReplayTally, ctx: _Context) -> None:
    tally.read += 1
    record = order.routing[0] if order.routing else None
    if record is None:
        tally.not_routed += 1
        return
    if not replayable(record):
        tally.no_picture += 1
        return
    baseline = ctx.baseline(record.strategy_id, record.strategy_version)
    if baseline is None:
        tally.strategy_missing += 1
        return
    policy = ctx.policy(order.channel)
    case = case_of(order, record, baseline, policy.allow_split, policy.allow_partial)
    tally.add(replay(case, ctx.candidates.seen_with(record.orders_today), ctx.candidate_set, ctx.profile))
