"""The built-in simulated provider (`type: mock`), served in-process by the mock engine. Labelled as simulated."""
from __future__ import annotations

import json

from ...core.config import Provider
from ...mock.engine import MockEngine, MockSettings
from .base import KeyHandle, ProviderClient, UpstreamCall, UpstreamReply


class MockProvider(ProviderClient):
    simulated = True

    def __init__(self, spec: Provider):
        super().__init__(spec)
        self.engine = MockEngine(MockSettings.from_mapping(spec.mock))
        self.keys = [KeyHandle("simulated", 1, None)]

    async def send(self, call: UpstreamCall, key: KeyHandle) -> UpstreamReply:
        body = call.body_json if call.model == call.body_json.get("model") else {**call.body_json, "model": call.model}
        reply = await self.engine.messages(body)  # the routed model, as a real upstream would see it
        return UpstreamReply(reply.status, dict(reply.headers), body=reply.body, chunks=reply.chunks)

    async def count_tokens(self, call: UpstreamCall) -> UpstreamReply | None:
        body = json.dumps(self.engine.count_tokens(call.body_json)).encode()
        return UpstreamReply(200, {"content-type": "application/json", "x-bifrost-simulated": "true"}, body=body,
                             provider_key="simulated")
