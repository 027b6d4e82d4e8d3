"""What-if routing simulations (operator): start one over a period of past orders, read its progress and
result. The replay runs in simulate-routing, off the request."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types

from shared.domain.routing_simulation import SimulationRequest
from shared.http.api import API_KEY_SCHEME, api_handler, install, principal
from shared.http.openapi import ROUTING, described
from shared.http.simulation_views import SimulationPath, SimulationView
from shared.repositories import repositories
from shared.services import routing_simulation as simulations
from shared.services.clock import utc_now

app = APIGatewayRestResolver(enable_validation=True)
app.configure_openapi(title="OMS API", security_schemes=API_KEY_SCHEME, security=[{"apiKey": []}])
install(app)


@app.post("/routing/simulations", summary="Operator: replay a period's orders through a candidate set of strategies",
          description=SimulationRequest.__doc__,
          **described(ROUTING, 202, 400, 403, 409, 413, 415, 422, 503,
                      success_description="accepted: the simulation, QUEUED (or the one this request_id started)"))
def start(body: SimulationRequest) -> Response[SimulationView]:
    job = simulations.start_simulation(body, principal(app), repositories(), utc_now())
    view = SimulationView.of(job)
    return Response(status_code=202, content_type=content_types.APPLICATION_JSON, headers={"Location": view.location},
                    body=view)


@app.get("/routing/simulations/<simulation_id>", summary="Operator: a simulation's progress, and its result once DONE",
         description=SimulationView.__doc__, **described(ROUTING, 200, 403, 404, 422))
def read(simulation_id: SimulationPath) -> SimulationView:
    return SimulationView.of(simulations.read_simulation(simulation_id, principal(app), repositories(), utc_now()))


lambda_handler = api_handler(app)
