"""Prometheus counters and a latency histogram, rendered in the text exposition format."""
from __future__ import annotations

from collections import defaultdict

from .records import RequestRecord

BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


def _labels(**kv: str) -> str:
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in kv.items())
    return "{" + inner + "}"


def _escape(value: object) -> str:
    return str(value if value is not None else "").replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Metrics:
    def __init__(self) -> None:
        self.requests: dict[tuple, int] = defaultdict(int)  # (key, model, provider, status)
        self.errors: dict[tuple, int] = defaultdict(int)  # (key, model, provider, error_type)
        self.tokens: dict[tuple, int] = defaultdict(int)  # (key, model, provider, kind)
        self.cost: dict[tuple, int] = defaultdict(int)  # (key, model, provider) micro-USD
        self.unpriced: dict[tuple, int] = defaultdict(int)  # (model,)
        self.latency_counts = [0] * (len(BUCKETS_S) + 1)
        self.latency_sum = 0.0
        self.in_flight = 0

    def observe(self, r: RequestRecord) -> None:
        key, model, prov = r.key_name or "", r.served_model or r.requested_model or "", r.provider or ""
        self.requests[(key, model, prov, str(r.status))] += 1
        if r.error_type:
            self.errors[(key, model, prov, r.error_type)] += 1
        u = r.usage
        for kind, n in (("input", u.input_tokens), ("output", u.output_tokens), ("cache_read", u.cache_read_tokens),
                        ("cache_write", u.cache_write_tokens)):
            if n:
                self.tokens[(key, model, prov, kind)] += n
        if r.cost_micro_usd:
            self.cost[(key, model, prov)] += r.cost_micro_usd
        if not r.priced:
            self.unpriced[(model,)] += 1
        seconds = r.latency_ms / 1000
        self.latency_sum += seconds
        for i, bound in enumerate(BUCKETS_S):
            if seconds <= bound:
                self.latency_counts[i] += 1
                break
        else:
            self.latency_counts[-1] += 1

    def render(self) -> str:
        out: list[str] = []

        def family(name: str, kind: str, help_: str, series: dict, names: tuple[str, ...], scale=None) -> None:
            out.append(f"# HELP {name} {help_}")
            out.append(f"# TYPE {name} {kind}")
            for labels, value in sorted(series.items()):
                v = value / scale if scale else value
                out.append(f"{name}{_labels(**dict(zip(names, labels)))} {v}")

        family("bifrost_requests_total", "counter", "Requests by key, model, provider and status.",
               self.requests, ("key", "model", "provider", "status"))
        family("bifrost_errors_total", "counter", "Failed requests by error type.",
               self.errors, ("key", "model", "provider", "error_type"))
        family("bifrost_tokens_total", "counter", "Tokens by kind.", self.tokens, ("key", "model", "provider", "kind"))
        family("bifrost_cost_usd_total", "counter", "Cost in USD (exact micro-USD / 1e6).",
               self.cost, ("key", "model", "provider"), scale=1_000_000)
        family("bifrost_unpriced_requests_total", "counter", "Requests whose model has no price (cost unknown).",
               self.unpriced, ("model",))
        out.append("# HELP bifrost_request_duration_seconds Total request latency.")
        out.append("# TYPE bifrost_request_duration_seconds histogram")
        cumulative = 0
        for bound, count in zip(BUCKETS_S, self.latency_counts):
            cumulative += count
            out.append(f'bifrost_request_duration_seconds_bucket{{le="{bound}"}} {cumulative}')
        cumulative += self.latency_counts[-1]
        out.append(f'bifrost_request_duration_seconds_bucket{{le="+Inf"}} {cumulative}')
        out.append(f"bifrost_request_duration_seconds_sum {self.latency_sum}")
        out.append(f"bifrost_request_duration_seconds_count {cumulative}")
        out.append("# HELP bifrost_in_flight_requests Requests being served now.")
        out.append("# TYPE bifrost_in_flight_requests gauge")
        out.append(f"bifrost_in_flight_requests {self.in_flight}")
        return "\n".join(out) + "\n"
