"""Provider clients by config `type`."""
from __future__ import annotations

from ...core.config import Provider
from .base import ProviderClient


def build_provider(spec: Provider) -> ProviderClient | None:
    """None for a type this build cannot route to yet (the caller reports it)."""
    if spec.type == "anthropic":
        from .anthropic import AnthropicProvider
        return AnthropicProvider(spec)
    if spec.type == "bedrock":
        from .bedrock import BedrockProvider
        return BedrockProvider(spec)
    if spec.type == "openai":
        from .openai import OpenAIProvider
        return OpenAIProvider(spec)
    if spec.type == "mock":
        from .mock import MockProvider
        return MockProvider(spec)
    return None
