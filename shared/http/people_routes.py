"""The people routes (admin only, infra/wiring.py): list the operator's people, invite one, set their roles,
disable or enable them. Served by admin-api (`add(app)` in its handler), so the people cost the stack no
function of their own; thin like every handler: a model in, one use case (shared/services/people.py), the
answer out."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Path

from shared.adapters.people_directory import people_directory
from shared.domain.people import USERNAME_PATTERN, Invitation, RolesWanted
from shared.http.api import require_operator
from shared.http.openapi import ADMIN, described
from shared.http.people_views import PeoplePage, PersonWritten
from shared.repositories import repositories
from shared.services import people

UsernamePath = Annotated[str, Path(pattern=USERNAME_PATTERN, description="The person's username")]


def _location_exists(location_id: str) -> bool:
    return repositories().locations.get(location_id) is not None


def add(app: APIGatewayRestResolver) -> None:
    @app.get("/people", summary="Admin: the operator's people, their roles and whether they may sign in",
             **described(ADMIN, 200, 403, 503))
    def list_people() -> PeoplePage:
        require_operator(app)
        return PeoplePage(people=people.list_people(people_directory()))

    @app.post("/people", summary="Admin: invite a person with roles (Cognito emails them a temporary password)",
              **described(ADMIN, 201, 403, 409, 415, 503))
    def invite(body: Invitation) -> Response[PersonWritten]:
        changed = people.invite(body, require_operator(app).name, people_directory(), _location_exists)
        return Response(status_code=201, content_type="application/json", body=PersonWritten.of(changed))

    @app.put("/people/<username>/roles", summary="Admin: set a person's roles and locations (what is not named goes)",
             **described(ADMIN, 200, 403, 404, 409, 415, 503))
    def change_roles(username: UsernamePath, body: RolesWanted) -> PersonWritten:
        by = require_operator(app).name
        return PersonWritten.of(people.change_roles(username, body, by, people_directory(), _location_exists))

    @app.post("/people/<username>/disable", summary="Admin: stop a person signing in",
              **described(ADMIN, 200, 403, 404, 409, 503))
    def disable(username: UsernamePath) -> PersonWritten:
        return PersonWritten.of(people.set_enabled(username, False, require_operator(app).name, people_directory()))

    @app.post("/people/<username>/enable", summary="Admin: let a disabled person sign in again",
              **described(ADMIN, 200, 403, 404, 503))
    def enable(username: UsernamePath) -> PersonWritten:
        return PersonWritten.of(people.set_enabled(username, True, require_operator(app).name, people_directory()))
