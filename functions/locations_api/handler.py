"""Location endpoints: every key reads, the operator writes."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayRestResolver

from shared.domain.locations import Location, LocationRequest
from shared.errors import NotFound
from shared.http.api import API_KEY_SCHEME, api_handler, install, principal, require_operator
from shared.http.openapi import LOCATIONS, described
from shared.http.params import LocationPath
from shared.repositories import repositories
from shared.services.clock import utc_now

app = APIGatewayRestResolver(enable_validation=True)
app.configure_openapi(title="OMS API", security_schemes=API_KEY_SCHEME, security=[{"apiKey": []}])
install(app)


@app.put("/locations/<location_id>", summary="Create or replace a location",
         **described(LOCATIONS, 200, 400, 403, 413, 415, 422))
def put(location_id: LocationPath, location: LocationRequest) -> Location:
    by = require_operator(app).name
    from shared.services.inventory import put_location  # with its route: the inventory use cases are heavy

    return put_location(location_id, location, by, repositories(), utc_now())


@app.get("/locations/<location_id>", summary="One location", **described(LOCATIONS, 200, 403, 404, 422))
def get_one(location_id: LocationPath) -> Location:
    principal(app)
    found = repositories().locations.get(location_id)
    if found is None:
        raise NotFound(f"location {location_id} not found", field="location_id")
    return found


@app.get("/locations", summary="All locations", **described(LOCATIONS, 200, 403))
def get_all() -> list[Location]:
    principal(app)
    return repositories().locations.all()


lambda_handler = api_handler(app)
