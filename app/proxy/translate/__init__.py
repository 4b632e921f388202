"""Translation between the Anthropic Messages API and OpenAI Chat Completions, both directions.

to_openai: Anthropic requests served by an OpenAI-compatible upstream (and its answers translated back).
from_openai: OpenAI clients served by the gateway's Anthropic-format pipeline.
"""
from .from_openai import (
                          AnthropicToOpenAIStream,
                          TranslationError,
                          anthropic_error_to_openai,
                          anthropic_to_openai_response,
                          openai_error_body,
                          openai_request_to_anthropic,
)
from .to_openai import (
                          OpenAIStreamTranslator,
                          anthropic_to_openai_request,
                          completion_cap,
                          openai_error_to_anthropic,
                          openai_to_anthropic_response,
)

__all__ = ["AnthropicToOpenAIStream", "OpenAIStreamTranslator", "TranslationError", "anthropic_error_to_openai",
           "anthropic_to_openai_request", "anthropic_to_openai_response", "completion_cap", "openai_error_body",
           "openai_error_to_anthropic", "openai_request_to_anthropic", "openai_to_anthropic_response"]
