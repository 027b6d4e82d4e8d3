"""Channel API keys: API Gateway keys, one usage plan per channel (its own throttle), in AWS and in the
local runtime alike (which checks keys against the emulator's API Gateway).

The key's value is returned once, to the operator who created the channel; only its id is kept.
Everything issued is tagged `oms:channel`, and the function that issues keys may change or delete
only what carries that tag (infra/components/functions.py): never the operator's key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TAG = "oms:channel"


@dataclass(frozen=True)
class IssuedKey:
    key_id: str
    value: str
    usage_plan_id: str
    new_plan: bool  # the plan was created with the key (withdrawn with it when the channel is not saved)


class ApiKeys:
    """Issues and revokes channel keys on one REST API stage (OMS_API_ID, OMS_API_STAGE)."""

    def __init__(self, client: Any, rest_api_id: str, stage: str):
        self.client = client
        self.rest_api_id = rest_api_id
        self.stage = stage

    def issue(self, channel_id: str, rate_limit_rps: int, burst_limit: int,
              usage_plan_id: str | None = None) -> IssuedKey:
        """A new enabled key, in the channel's usage plan (`usage_plan_id`: a rotation) or in a new one."""
        name, tags = f"oms-channel-{channel_id}", {TAG: channel_id}
        plan_id = usage_plan_id or self.client.create_usage_plan(
            name=name, description=f"OMS channel {channel_id}", tags=tags,
            throttle={"rateLimit": float(rate_limit_rps), "burstLimit": burst_limit},
            apiStages=[{"apiId": self.rest_api_id, "stage": self.stage}])["id"]
        key = self.client.create_api_key(name=name, description=f"OMS channel {channel_id}", enabled=True,
                                         generateDistinctId=True, tags=tags)
        self.client.create_usage_plan_key(usagePlanId=plan_id, keyId=key["id"], keyType="API_KEY")
        return IssuedKey(key["id"], key["value"], plan_id, new_plan=usage_plan_id is None)

    def throttle(self, usage_plan_id: str, rate_limit_rps: int, burst_limit: int) -> None:
        self.client.update_usage_plan(usagePlanId=usage_plan_id, patchOperations=[
            {"op": "replace", "path": "/throttle/rateLimit", "value": str(rate_limit_rps)},
            {"op": "replace", "path": "/throttle/burstLimit", "value": str(burst_limit)}])

    def set_enabled(self, key_id: str, enabled: bool) -> None:
        """A key in or out of service (a rotated key, an inactive channel): API Gateway refuses a
        disabled one. A key API Gateway does not know (a local demo key) has nothing to switch."""
        try:
            self.client.update_api_key(apiKey=key_id, patchOperations=[
                {"op": "replace", "path": "/enabled", "value": "true" if enabled else "false"}])
        except self.client.exceptions.NotFoundException:
            pass

    def withdraw(self, issued: IssuedKey) -> None:
        """Undo an issue whose channel was not saved: the key, and the plan if it came with it."""
        self.client.delete_usage_plan_key(usagePlanId=issued.usage_plan_id, keyId=issued.key_id)
        self.client.delete_api_key(apiKey=issued.key_id)
        if issued.new_plan:
            self.client.update_usage_plan(usagePlanId=issued.usage_plan_id, patchOperations=[
                {"op": "remove", "path": "/apiStages", "value": f"{self.rest_api_id}:{self.stage}"}])
            self.client.delete_usage_plan(usagePlanId=issued.usage_plan_id)

    def retire(self, key_id: str, usage_plan_id: str | None) -> None:
        """A rotated key: out of its plan and deleted (its link to the channel is already gone)."""
        if usage_plan_id:
            try:
                self.client.delete_usage_plan_key(usagePlanId=usage_plan_id, keyId=key_id)
            except self.client.exceptions.NotFoundException:
                pass
        try:
            self.client.delete_api_key(apiKey=key_id)
        except self.client.exceptions.NotFoundException:
            pass


def api_keys() -> ApiKeys:
    """The functions' issuer: the OMS API and stage from the settings (OMS_API_ID, OMS_API_STAGE)."""
    from shared.adapters.aws import client
    from shared.config import settings

    return ApiKeys(client("apigateway"), settings().api_id, settings().api_stage)
