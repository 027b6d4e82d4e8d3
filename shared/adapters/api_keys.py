"""Channel API keys: API Gateway keys, one usage plan per channel (its own throttle), in AWS and in the
local runtime alike (which checks keys against the emulator's API Gateway).

The key's value is returned once, to the operator who created the channel; only its id is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class IssuedKey:
    key_id: str
    value: str
    usage_plan_id: str


class ApiKeys:
    """Issues and revokes channel keys on one REST API stage (OMS_API_ID, OMS_API_STAGE)."""

    def __init__(self, client: Any, rest_api_id: str, stage: str):
        self.client = client
        self.rest_api_id = rest_api_id
        self.stage = stage

    def issue(self, channel_id: str, rate_limit_rps: int, burst_limit: int) -> IssuedKey:
        """A new enabled key in a usage plan of its own on the OMS API's stage."""
        name = f"oms-channel-{channel_id}"
        plan = self.client.create_usage_plan(
            name=name, description=f"OMS channel {channel_id}",
            throttle={"rateLimit": float(rate_limit_rps), "burstLimit": burst_limit},
            apiStages=[{"apiId": self.rest_api_id, "stage": self.stage}])
        key = self.client.create_api_key(name=name, description=f"OMS channel {channel_id}", enabled=True,
                                         generateDistinctId=True)
        self.client.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
        return IssuedKey(key["id"], key["value"], plan["id"])

    def throttle(self, key_id: str, rate_limit_rps: int, burst_limit: int) -> None:
        """Apply a channel's new limits to the usage plan its key is in."""
        for plan in self.client.get_usage_plans(keyId=key_id).get("items", []):
            self.client.update_usage_plan(usagePlanId=plan["id"], patchOperations=[
                {"op": "replace", "path": "/throttle/rateLimit", "value": str(float(rate_limit_rps))},
                {"op": "replace", "path": "/throttle/burstLimit", "value": str(burst_limit)}])

    def disable(self, key_id: str) -> None:
        """A key taken out of service (a rotated key, an inactive channel): API Gateway refuses it."""
        self.client.update_api_key(apiKey=key_id, patchOperations=[
            {"op": "replace", "path": "/enabled", "value": "false"}])

    def enable(self, key_id: str) -> None:
        self.client.update_api_key(apiKey=key_id, patchOperations=[
            {"op": "replace", "path": "/enabled", "value": "true"}])


def api_keys() -> ApiKeys:
    """The functions' issuer: the OMS API and stage from the settings (OMS_API_ID, OMS_API_STAGE)."""
    from shared.adapters.aws import client
    from shared.config import settings

    return ApiKeys(client("apigateway"), settings().api_id, settings().api_stage)
