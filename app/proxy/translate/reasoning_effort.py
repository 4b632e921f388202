"""An OpenAI client's `reasoning_effort` as Anthropic extended thinking, `thinking: {type: enabled,
budget_tokens: N}`. Pure: no I/O.

    reasoning_effort   none   minimal   low    medium   high    xhigh
    budget_tokens      -      1024      2048   8192     16384   32768

Anthropic's rules: budget_tokens is at least 1024 and below max_tokens; thinking allows no temperature or
top_k change (top_p only 0.95-1 on Anthropic, none on Bedrock) and no forced tool use. Hence:

- no output limit given: max_tokens is the gateway's default (4096) plus the budget, room for both;
- an output limit given (max_completion_tokens or max_tokens): it is the whole completion, reasoning
  included, as in OpenAI: the budget is at most half of it, and below 1024 (a limit under 2048) the request
  goes without thinking;
- with thinking, temperature and top_p are not sent;
- no thinking when tool_choice forces a tool (required, or a named function), or when the request continues
  a tool call (ends with tool results): Anthropic then wants the assistant's signed thinking block back,
  which an OpenAI client does not keep.
"""
from __future__ import annotations

BUDGETS = {"minimal": 1024, "low": 2048, "medium": 8192, "high": 16384, "xhigh": 32768}
EFFORTS = ("none", *BUDGETS)
MIN_BUDGET = 1024  # Anthropic's minimum budget_tokens


def with_thinking(out: dict, effort: str, *, limit: int | None, default_limit: int) -> None:
    """Set `thinking` (and max_tokens) on the translated Anthropic request `out` for `effort`, when the
    rules above allow. `limit`: the client's output limit, None when it gave none."""
    budget = BUDGETS.get(effort)
    if budget is None or _forced_tool(out) or _continues_tool_call(out.get("messages")):
        return
    if limit is None:
        out["max_tokens"] = default_limit + budget
    else:
        budget = min(budget, limit // 2)
        if budget < MIN_BUDGET:
            return
    out["thinking"] = {"type": "enabled", "budget_tokens": budget}
    out.pop("temperature", None)
    out.pop("top_p", None)


def _forced_tool(out: dict) -> bool:
    choice = out.get("tool_choice")
    return isinstance(choice, dict) and choice.get("type") in ("any", "tool")


def _continues_tool_call(messages) -> bool:
    last = messages[-1] if isinstance(messages, list) and messages else None
    content = last.get("content") if isinstance(last, dict) and last.get("role") == "user" else None
    return isinstance(content, list) and any(isinstance(b, dict) and b.get("type") == "tool_result" for b in content)
