"""PriceTable: name matching, exact Decimal costs, long-context tiers, overrides, malformed data.

Every expected number is computed by hand in the comment beside it (micro-USD == tokens x $/MTok).
"""
from decimal import Decimal
from pathlib import Path

import pytest

from app.core.pricing import DEFAULT_PATH, Cost, PriceTable, PricingError
from app.core.usage import Usage


@pytest.fixture(scope="module")
def table() -> PriceTable:
    return PriceTable.load()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pricing.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# claude-sonnet-4-5: input 3, output 15, 5m write 3.75, 1h write 6, read 0.30;
# above 200k total input: 6 / 22.50 / 7.50 / 12 / 0.60.
COSTS = [
    pytest.param("claude-sonnet-4-5", Usage(input_tokens=1000, output_tokens=500),
                 Cost(3000, 7500, 0, 0, 10500, False), id="plain"),           # 1000*3 + 500*15 = 10500
    pytest.param("claude-sonnet-4-5", Usage(cache_read_tokens=10_000),
                 Cost(0, 0, 3000, 0, 3000, False), id="cache-read-only"),     # 10000*0.30 = 3000
    pytest.param("claude-sonnet-4-5", Usage(cache_write_5m_tokens=2000),
                 Cost(0, 0, 0, 7500, 7500, False), id="cache-write-5m"),      # 2000*3.75 = 7500
    pytest.param("claude-sonnet-4-5", Usage(cache_write_1h_tokens=2000),
                 Cost(0, 0, 0, 12000, 12000, False), id="cache-write-1h"),    # 2000*6 = 12000
    # 100*3=300; 200*15=3000; 50000*0.30=15000; 1000*3.75 + 3000*6 = 3750+18000 = 21750; total 40050
    pytest.param("claude-sonnet-4-5", Usage(100, 200, 50_000, 1000, 3000),
                 Cost(300, 3000, 15000, 21750, 40050, False), id="mixed"),
    # total input 150000+50001 = 200001 > 200000 -> long tier for every token:
    # 150000*6=900000; 50001*0.60=30000.6 -> 30001; 1000*22.50=22500; total 952500.6 -> 952501
    pytest.param("claude-sonnet-4-5", Usage(input_tokens=150_000, output_tokens=1000, cache_read_tokens=50_001),
                 Cost(900000, 22500, 30001, 0, 952501, True), id="long-context-above"),
    # total input 100000+60000+40001 = 200001: 100000*6=600000; 2000*22.50=45000;
    # 60000*7.50 + 40001*12 = 450000+480012 = 930012; total 1575012
    pytest.param("claude-sonnet-4", Usage(100_000, 2000, 0, 60_000, 40_001),
                 Cost(600000, 45000, 0, 930012, 1575012, True), id="long-context-writes-count"),
    # exactly 150000+50000 = 200000 is not above: 150000*3=450000; 50000*0.30=15000; 1000*15=15000
    pytest.param("claude-sonnet-4-5", Usage(input_tokens=150_000, output_tokens=1000, cache_read_tokens=50_000),
                 Cost(450000, 15000, 15000, 0, 480000, False), id="long-context-at-threshold"),
    # Opus 4.6+ has no tier: 300000*5 = 1500000; 10*25 = 250
    pytest.param("claude-opus-4-8", Usage(input_tokens=300_000, output_tokens=10),
                 Cost(1500000, 250, 0, 0, 1500250, False), id="opus-4-8-no-tier"),
    # Haiku 5.5 at exactly 100000: 100000*0.10 = 10000; 10*0.50 = 5
    pytest.param("claude-haiku-5-5", Usage(input_tokens=100_000, output_tokens=10),
                 Cost(10000, 5, 0, 0, 10005, False), id="haiku-5-5-at-100k"),
    # Haiku 5.5 above 100000: 100001*0.50 = 50000.5 -> 50000 (half-even); 10*2.50 = 25;
    # total 50025.5 -> 50026 (half-even), not 50000+25 = 50025
    pytest.param("claude-haiku-5-5", Usage(input_tokens=100_001, output_tokens=10),
                 Cost(50000, 25, 0, 0, 50026, True), id="haiku-5-5-above-100k-rounds-once"),
    # OpenAI, cached tokens already split out: 500*0.15 = 75; 1500*0.075 = 112.5 -> 112; 100*0.60 = 60;
    # total 247.5 -> 248
    pytest.param("gpt-4o-mini", Usage(input_tokens=500, output_tokens=100, cache_read_tokens=1500),
                 Cost(75, 60, 112, 0, 248, False), id="openai-cached-input"),
    # gpt-5.4 above 272000: 272001*5 = 1360005; 100*22.50 = 2250
    pytest.param("gpt-5.4", Usage(input_tokens=272_001, output_tokens=100),
                 Cost(1360005, 2250, 0, 0, 1362255, True), id="openai-long-context"),
]


@pytest.mark.parametrize(("model", "usage", "expected"), COSTS)
def test_cost_table(table, model, usage, expected):
    assert table.cost(model, usage) == expected


NAMES = [
    ("claude-sonnet-4-5", "claude-sonnet-4-5"),                          # exact
    ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),                 # alias (Claude Code 2.0.77)
    ("claude-haiku-4-5-20251001", "claude-haiku-4-5"),                   # alias (Claude Code 2.1.197)
    ("claude-opus-4-8", "claude-opus-4-8"),
    ("claude-sonnet-5", "claude-sonnet-5"),
    ("claude-opus-5-5", "claude-opus-5-5"),                              # Claude Code 2.1.332
    ("claude-opus-4-5-20991231", "claude-opus-4-5"),                     # dated name -> base
    ("claude-opus-4-20250514", "claude-opus-4"),
    ("claude-sonnet-4-5[1m]", "claude-sonnet-4-5"),                      # [1m] suffix
    ("claude-sonnet-4-5-20250929[1m]", "claude-sonnet-4-5"),
    ("claude-3-7-sonnet-latest", "claude-3-7-sonnet"),                   # alias
    ("claude-3-haiku-latest", "claude-3-haiku"),                         # -latest stripped
    ("anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"),  # Bedrock
    ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"),
    ("global.anthropic.claude-opus-4-1-20250805-v1:0", "claude-opus-4-1"),
    ("anthropic.claude-haiku-5-5", "claude-haiku-5-5"),
    ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
]


@pytest.mark.parametrize(("name", "expected"), NAMES)
def test_lookup_rules(table, name, expected):
    price = table.lookup(name)
    assert price is not None and price.name == expected


@pytest.mark.parametrize("name", [
    "claude-unknown-9", "claude-sonnet", "sonnet", "Claude-Sonnet-4-5", "claude-sonnet-4-5x",
    "claude-sonnet-4-5-2025", "gpt-4o-2024-05-13", "eu.claude-sonnet-4-5", "", "claude-fable-5-2"])
def test_unknown_model_has_no_price(table, name):
    assert table.lookup(name) is None
    assert table.cost(name, Usage(input_tokens=10)) is None


def test_variants_cost_the_same(table):
    usage = Usage(1000, 500, 100, 10, 1)
    base = table.cost("claude-sonnet-4-5", usage)
    for name in ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5[1m]", "us.anthropic.claude-sonnet-4-5-20250929-v1:0"):
        assert table.cost(name, usage) == base


def test_lookup_is_memoised(table):
    first = table.lookup("us.anthropic.claude-opus-4-1-20250805-v1:0")
    assert table.lookup("us.anthropic.claude-opus-4-1-20250805-v1:0") is first
    assert table.lookup(None) is None  # type: ignore[arg-type]


def test_default_file_and_providers(table):
    assert DEFAULT_PATH.name == "pricing.yaml" and DEFAULT_PATH.parent.name == "config"
    anthropic = {p.name for p in table.models("anthropic")}
    openai = {p.name for p in table.models("openai")}
    assert {"claude-opus-4-8", "claude-sonnet-5", "claude-haiku-4-5", "claude-opus-5-5"} <= anthropic
    assert {"gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "o3", "o4-mini", "gpt-5"} <= openai
    assert len(table.models()) == len(anthropic) + len(openai)


def test_anthropic_cache_multipliers_hold(table):
    """5m = 1.25x, 1h = 2x, read = 0.1x input, except the published read exceptions."""
    read_exceptions = {"claude-fable-5-1": "0.025", "claude-mythos-5-1": "0.025",
                       "claude-opus-5-5": "0.05", "claude-sonnet-5-5": "0.05"}
    haiku_3 = table.lookup("claude-3-haiku").rates  # published rounded: $0.30 (not 0.3125), $0.03 (not 0.025)
    assert (haiku_3.cache_write_5m, haiku_3.cache_read) == (Decimal("0.30"), Decimal("0.03"))
    for price in table.models("anthropic"):
        if price.name == "claude-3-haiku":
            continue
        for rates in filter(None, (price.rates, price.long_context)):
            assert rates.cache_write_5m == rates.input * Decimal("1.25"), price.name
            assert rates.cache_write_1h == rates.input * 2, price.name
            assert rates.cache_read == rates.input * Decimal(read_exceptions.get(price.name, "0.1")), price.name


def test_openai_has_no_cache_write_charge(table):
    for price in table.models("openai"):
        assert price.rates.cache_write_5m == price.rates.cache_write_1h == 0, price.name
        assert price.rates.cache_read < price.rates.input, price.name


BASE = """
models:
  base-model:
    provider: acme
    aliases: [base-model-v2]
    input: 1.00
    output: 10.00
    cache_write_5m: 1.25
    cache_write_1h: 2.00
    cache_read: 0.10
    long_context: {above_input_tokens: 1000, input: 2, output: 20, cache_write_5m: 2.5, cache_write_1h: 4, cache_read: 0.2}
"""


def test_overrides_add_and_replace(tmp_path):
    t = PriceTable.load(write(tmp_path, BASE), overrides={
        "my-model": {"input": 1, "output": 2},
        "base-model": {"output": 20},
    })
    # new model; missing cache rates bill at input: 1000*1 + 1000*2 + 100*1 = 3100
    assert t.cost("my-model", Usage(input_tokens=1000, output_tokens=1000, cache_read_tokens=100)).total_micro_usd == 3100
    # replaced output price, other fields kept: 100*1 + 100*20 = 2100; the alias still resolves
    assert t.cost("base-model-v2", Usage(input_tokens=100, output_tokens=100)).total_micro_usd == 2100
    assert t.lookup("base-model").long_context.output == 20
    assert t.lookup("my-model").provider is None


def test_override_can_drop_long_context_and_rename_prices(tmp_path):
    t = PriceTable.load(write(tmp_path, BASE), overrides={"base-model": {"long_context": None}})
    # 2000*1 = 2000, standard rate although above 1000
    assert t.cost("base-model", Usage(input_tokens=2000)) == Cost(2000, 0, 0, 0, 2000, False)


def test_override_of_real_file_keeps_aliases():
    t = PriceTable.load(overrides={"claude-sonnet-4-5": {"input": "2.5"}})
    price = t.lookup("claude-sonnet-4-5-20250929")
    assert price.rates.input == Decimal("2.5") and price.long_context is not None


@pytest.mark.parametrize(("overrides", "fragments"), [
    ({"x": {"input": -1, "output": 2}}, ["config pricing", "'x'", "input", ">= 0"]),
    ({"x": {"input": "abc", "output": 2}}, ["'x'", "input", "number"]),
    ({"x": {"input": True, "output": 2}}, ["'x'", "input", "number"]),
    ({"x": {"input": 1}}, ["'x'", "missing", "output"]),
    ({"x": {"output": 1}}, ["'x'", "missing", "input"]),
    ({"x": {"input": 1, "output": 2, "cache_write": 3}}, ["'x'", "unknown", "cache_write"]),
    ({"x": {"input": 1, "output": 2, "cache_read": "nan"}}, ["'x'", "cache_read"]),
    ({"x": 5}, ["'x'", "mapping"]),
    ({"base-model": {"output": -3}}, ["'base-model'", "output"]),
    ({"x": {"input": 1, "output": 2, "long_context": {"input": 2, "output": 4}}},
     ["'x'", "long_context", "above_input_tokens"]),
    ({"x": {"input": 1, "output": 2, "aliases": "x-1"}}, ["'x'", "aliases"]),
])
def test_malformed_override_raises_useful_error(tmp_path, overrides, fragments):
    with pytest.raises(PricingError) as info:
        PriceTable.load(write(tmp_path, BASE), overrides=overrides)
    for fragment in fragments:
        assert fragment in str(info.value)


def test_malformed_file_names_the_file(tmp_path):
    path = write(tmp_path, "models:\n  m1:\n    input: 1\n    output: -2\n")
    with pytest.raises(PricingError, match=r"pricing\.yaml.*'m1'.*output"):
        PriceTable.load(path)
    with pytest.raises(PricingError, match="models"):
        PriceTable.load(write(tmp_path, "- just a list\n"))
    with pytest.raises(PricingError, match="cannot read"):
        PriceTable.load(tmp_path / "missing.yaml")
    with pytest.raises(PricingError, match="YAML"):
        PriceTable.load(write(tmp_path, "models: {a: [\n"))


def test_rounding_half_even_once(tmp_path):
    t = PriceTable.load(write(tmp_path, "models:\n  half: {input: 0.5, output: 0.5, cache_read: 0.05}\n"))
    # 1*0.5 = 0.5 -> 0 and 1*0.5 = 0.5 -> 0 per part, but the exact total 1.0 -> 1
    assert t.cost("half", Usage(input_tokens=1, output_tokens=1)) == Cost(0, 0, 0, 0, 1, False)
    assert t.cost("half", Usage(input_tokens=3)).total_micro_usd == 2   # 1.5 -> 2
    assert t.cost("half", Usage(input_tokens=5)).total_micro_usd == 2   # 2.5 -> 2 (half-even)
    assert t.cost("half", Usage(input_tokens=7)).total_micro_usd == 4   # 3.5 -> 4
    # 10 reads * 0.05 = 0.5 -> 0, + 1*0.5 = 0.5 -> 0; total 1.0 -> 1
    assert t.cost("half", Usage(input_tokens=1, cache_read_tokens=10)).total_micro_usd == 1


def test_prices_are_exact_decimals(tmp_path):
    t = PriceTable.load(write(tmp_path, "models:\n  tenth: {input: 0.1, output: 0.3}\n"))
    assert t.lookup("tenth").rates.input == Decimal("0.1")  # not 0.1000000000000000055...
    # 10_000_000 * 0.1 = 1_000_000 exactly
    assert t.cost("tenth", Usage(input_tokens=10_000_000)).total_micro_usd == 1_000_000


def _decimal_cost(price, usage: Usage) -> Cost:
    """The reference: Decimal products at 60 digits, each part and the total rounded half-even once."""
    from decimal import ROUND_HALF_EVEN, Context, localcontext
    long = price.long_context is not None and usage.total_input_tokens > price.long_context_above
    r = price.long_context if long else price.rates
    with localcontext(Context(prec=60)):
        parts = (Decimal(usage.input_tokens) * r.input, Decimal(usage.output_tokens) * r.output,
                 Decimal(usage.cache_read_tokens) * r.cache_read,
                 Decimal(usage.cache_write_5m_tokens) * r.cache_write_5m
                 + Decimal(usage.cache_write_1h_tokens) * r.cache_write_1h)
        total = sum(parts, Decimal(0))
    rnd = lambda v: int(v.to_integral_value(ROUND_HALF_EVEN))  # noqa: E731
    return Cost(*(rnd(p) for p in parts), total_micro_usd=rnd(total), long_context=long)


def test_integer_costs_equal_decimal_arithmetic(tmp_path):
    """cost() works in integers over a power of ten; it must equal exact Decimal arithmetic everywhere."""
    import random
    odd = write(tmp_path, "models:\n"
                "  odd: {input: 0.0375, output: 1E+2, cache_read: 0.003, cache_write_5m: 3.75, cache_write_1h: 7}\n"
                "  half: {input: 0.5, output: 0.25, cache_read: 0.05}\n"
                "  tiny: {input: 0.000001, output: 123456.789012}\n"
                "  free: {input: 0, output: 0}\n")
    rng = random.Random(11)
    for table in (PriceTable.load(), PriceTable.load(odd)):
        for price in table.models():
            for _ in range(300):
                top = rng.choice((3, 100, 5_000, 400_000, 10 ** 9))
                usage = Usage(*(rng.randint(0, top) for _ in range(5)))
                assert table.cost(price.name, usage) == _decimal_cost(price, usage), (price.name, usage)
