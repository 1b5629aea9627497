"""Strategy files: the shipped examples are valid, and every malformed file is refused with its
file, line and field."""

from __future__ import annotations

import pytest

from agent.errors import ConfigError
from strategies.script.model import (
    IntentEntry,
    Interval,
    TypedEntry,
    parse_interval,
    parse_strategy,
    shipped,
)


def test_shipped_examples_are_valid() -> None:
    names = {parse_strategy(path.read_text(), str(path)).name for path in shipped()}
    assert names == {"usdc-yield", "dca-eth", "deleverage-guard", "take-profit"}


def test_a_file_reads_as_written() -> None:
    strategy = parse_strategy(
        """\
name: mixed
session: {policy: dca-bot, ttl: 7d}
when: price(ETH) < 4000
steps:
  - intent: swap 100 USDC for ETH
  - action: supply
    protocol: aave-v3
    token: ETH
    amount: output:1
    when: balance(ETH) > 1
    on_error: retry 2
repeat: {every: 30s, until: "balance(USDC) < 100"}
on_error: skip
"""
    )
    first, second = strategy.steps
    assert isinstance(first, IntentEntry) and first.intent == "swap 100 USDC for ETH"
    assert isinstance(second, TypedEntry)
    assert second.fields == {
        "action": "supply",
        "protocol": "aave-v3",
        "token": "ETH",
        "amount": "output:1",
    }
    assert (second.when, second.on_error, strategy.on_error) == (
        "balance(ETH) > 1",
        "retry 2",
        "skip",
    )
    assert strategy.repeat is not None
    assert (strategy.repeat.every.count, strategy.repeat.every.unit) == (30, "seconds")
    assert strategy.session is not None and strategy.session.policy == "dca-bot"


def test_an_unquoted_amount_reads_as_written() -> None:
    strategy = parse_strategy(
        "name: x\nsteps:\n  - {action: supply, token: USDC, amount: 100}\n"
        "  - {action: supply, token: USDC, amount: 0.25}\n"
    )
    assert [e.fields["amount"] for e in strategy.steps] == ["100", "0.25"]


def test_an_unquoted_amount_keeps_every_digit_and_is_never_reread() -> None:
    """YAML 1.1 reads `010` as 8, `1:30` as 90 and `0x10` as 16, and a long decimal as a float
    that loses digits: the amount is the text written, or refused with its line."""
    steps = "".join(
        f"  - {{action: supply, token: DAI, amount: {a}}}\n"
        for a in ("010", "0.1234567890123456789", "12345678.123456789", "0.00000001")
    )
    strategy = parse_strategy(f"name: x\nsteps:\n{steps}")
    assert [e.fields["amount"] for e in strategy.steps] == [
        "010",
        "0.1234567890123456789",
        "12345678.123456789",
        "0.00000001",
    ]
    for written in ("0x10", "1:30"):
        with pytest.raises(ConfigError, match=f"f.yaml:3: steps\\[1\\].amount: '{written}' is not"):
            parse_strategy(
                f"name: x\nsteps:\n  - {{action: supply, token: DAI, amount: {written}}}\n",
                "f.yaml",
            )


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("name: x\nsteps:\n  - intent: a\n   - b\n", "f.yaml:4", "not valid YAML"),
        ("- just\n- a list\n", "f.yaml", "a strategy is a mapping"),
        ("name: x\n", "f.yaml:1", "steps: is required"),
        (  # QA: "Extra inputs are not permitted", in pydantic's words
            "name: x\nstepz: []\nsteps:\n  - intent: a\n",
            "f.yaml:2",
            "stepz: is not a field here: did you mean steps?",
        ),
        (
            "name: x\nrepaet: {every: 1h}\nsteps:\n  - intent: a\n",
            "f.yaml:2",
            "repaet: is not a field here: did you mean repeat?",
        ),
        ("name: x\nsteps:\n  - frobnicate: 1\n", "f.yaml:3", "steps[1]: each step is either"),
        # caught before a run executes the entries before them (they passed `validate`)
        (
            "name: x\nsteps:\n  - {action: swap, token_in: USDC, token_out: USDC, amount: '1'}\n",
            "f.yaml:3",
            "steps[1]: cannot swap USDC into itself",
        ),
        (
            "name: x\nsteps:\n  - {action: transfer, token: USDC, amount: '1', to: '0x1234'}\n",
            "f.yaml:3",
            "steps[1].to: '0x1234' is not an address",
        ),
        (
            "name: x\nsession: {policy: default, ttl: 400d}\nsteps:\n  - intent: a\n",
            "f.yaml:2",
            "session.ttl: 400d is longer than a session may live (365d)",
        ),
        (
            "name: x\nsteps:\n  - intent: a\n  - action: swap\n    protocol: uniswap-v3\n"
            "    token_in: ETH\n    token_out: USDC\n    amount: lots\n",
            "f.yaml:8",
            "steps[2].amount: 'lots' is not an amount",
        ),
        (
            "name: x\nsteps:\n  - action: supply\n    protocol: aave-v3\n    token: USDC\n"
            "    amount: output:1\n",
            "f.yaml:6",
            "steps[1].amount: output:1 must name an earlier step",
        ),
        # an amount the wallet cannot mean: output:1 would be read as DAI bought, in ETH
        (
            "name: x\nsteps:\n  - {action: swap, token_in: ETH, token_out: DAI, amount: '0.1'}\n"
            "  - action: swap\n    token_in: DAI\n    token_out: ETH\n    amount: output:1\n"
            "    amount_kind: exact_out\n",
            "f.yaml:4",
            "steps[2]: an exact_out swap buys a stated amount of ETH: output:1 is not one",
        ),
        (
            "name: x\nsteps:\n  - {action: swap, token_in: ETH, token_out: DAI, amount: '0.1'}\n"
            "  - action: supply\n    token: USDC\n    amount: output:1\n",
            "f.yaml:6",
            "steps[2].amount: output:1: step 1 produces DAI, not the USDC this step spends",
        ),
        (
            "name: x\nsteps:\n  - {action: supply, token: DAI, amount: '10'}\n"
            "  - {action: supply, token: DAI, amount: 'output:1'}\n",
            "f.yaml:4",
            "steps[2].amount: output:1: step 1 leaves no token in the wallet to use",
        ),
        (
            "name: x\nsteps:\n  - action: transfer\n    token: DAI\n    amount: '1'\n"
            "    to: '0x70997970c51812dc3a010c7d01b50e0d17dc79c8'\n",
            "f.yaml:6",
            "steps[1].to: 0x70997970c51812dc3a010c7d01b50e0d17dc79c8 is not checksummed",
        ),
        (
            "name: x\nsession: {id: ''}\nsteps:\n  - intent: a\n",
            "f.yaml:2",
            "session.id: '' is not a session id: 12 hex digits",
        ),
        # QA: a recursive alias crashed with a traceback; six levels of aliases grew to 2.2 GB
        pytest.param(
            "name: x\nsteps: &s\n  - intent: a\n  - *s\n",
            "f.yaml:4",
            "YAML aliases (*s) are not allowed in a strategy: write the value out",
            id="recursive-alias",
        ),
        pytest.param(
            "a: &a ['x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x']\n"
            + "".join(
                f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n"
                for p, n in zip("abcde", "bcdef", strict=True)
            )
            + "name: x\nsteps:\n  - intent: *f\n",
            "f.yaml:2",
            "YAML aliases (*a) are not allowed",
            id="billion-laughs",
        ),
        # QA: 100,000 levels took 90 s to refuse, 200,000 steps 43 s and 930 MB
        pytest.param(
            "name: x\nsteps:\n  - intent: " + "[" * 100_000 + "]" * 100_000 + "\n",
            "f.yaml:3",
            "nested too deeply to be a strategy",
            id="nested-100000-deep",
        ),
        pytest.param(
            "name: x\nsteps:\n" + "  - intent: a\n" * 50_000,
            "f.yaml:2501",
            "more values than a strategy holds (10,000)",
            id="50000-steps",
        ),
        pytest.param(
            "name: !!binary aGVsbG8=\nsteps:\n  - intent: a\n",
            "f.yaml:1",
            "YAML tags (tag:yaml.org,2002:binary) are not allowed in a strategy",
            id="binary-tag",
        ),
        (
            "name: x\nsteps:\n  - intent: a\n    when: health_factor < 1,5\n",
            "f.yaml:4",
            "steps[1].when: '1,5' is not a number",
        ),
        ("name: x\nwhen: price(ETH) <\nsteps:\n  - intent: a\n", "f.yaml:2", "when: expected"),
        (
            "name: x\nsteps:\n  - intent: a\n    when: balance(USDC) >> 3\n",
            "f.yaml:4",
            "steps[1].when: expected a number or a reading",
        ),
        (
            "name: x\nsteps:\n  - intent: a\nrepeat:\n  every: 3 weeks\n",
            "f.yaml:5",
            "repeat.every: '3 weeks' is not an interval",
        ),
        # QA: accepted, and the run's sleep would have overflowed
        (
            "name: x\nsteps:\n  - intent: a\nrepeat:\n  every: 99999999999w\n",
            "f.yaml:5",
            "repeat.every: '99999999999w' is longer than a strategy's session may live (365d)",
        ),
        (
            "name: x\nsteps:\n  - intent: a\nrepeat:\n  every: 5000000 blocks\n",
            "f.yaml:5",
            "repeat.every: '5000000 blocks' is more than 1,000,000 blocks",
        ),
        (
            "name: x\nsteps:\n  - intent: a\nrepeat:\n  every: 3 blocks\n  count: 0\n",
            "f.yaml:6",
            "repeat.count: should be at least 1",
        ),
        ("name: x\nsteps:\n  - intent: a\non_error: retry\n", "f.yaml:4", "on_error: 'retry'"),
        (
            "name: x\nsession: {id: 0123abcd4567, ttl: 1d}\nsteps:\n  - intent: a\n",
            "f.yaml:2",
            "session: ttl goes with policy",
        ),
        ("name: has spaces\nsteps:\n  - intent: a\n", "f.yaml:1", "name: String should match"),
        (
            "name: x\nsteps:\n  - action: swap\n    token_in: USCD\n    token_out: ETH\n"
            '    amount: "100"\n',
            "f.yaml:4",
            "steps[1].token_in: unknown token 'USCD' (known: ETH, WETH, USDC, DAI, WBTC)",
        ),
        (
            "name: x\nsession: {policy: dca-bot, ttl: 30 days}\nsteps:\n  - intent: a\n",
            "f.yaml:2",
            "session.ttl: '30 days' is not a duration",
        ),
        ("name: x\nsteps:\n  - intent: a\nname: y\n", "f.yaml:4", "name: written twice"),
        ("name: x\nsteps: []\n", "f.yaml:2", "steps: needs at least 1 item"),
        (
            "name: x\nsteps:\n  - intent: a\n    when: block > 1\n    when: block > 2\n",
            "f.yaml:5",
            "steps[1].when: written twice",
        ),
        (
            "name: x\nwhen: price(ETHH) < 4000\nsteps:\n  - intent: a\n",
            "f.yaml:2",
            "when: unknown token 'ETHH'",
        ),
    ],
)
def test_malformed_files_name_line_and_field(text: str, where: str, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_strategy(text, "f.yaml")
    assert error.value.message.startswith(where + ":"), error.value.message
    assert message in error.value.message


def test_typed_tokens_in_any_case_and_intervals_in_weeks_read_as_meant() -> None:
    """`token: usdc` was refused with a regular expression, and `every: 2w` although `chain warp`
    takes 2w."""
    strategy = parse_strategy(
        "name: x\nsteps:\n  - {action: swap, token_in: usdc, token_out: eth, amount: '1'}\n"
        "repeat: {every: 2w, count: 2}\n"
    )
    (entry,) = strategy.steps
    assert isinstance(entry, TypedEntry)
    assert (entry.fields["token_in"], entry.fields["token_out"]) == ("USDC", "ETH")
    assert strategy.repeat is not None
    assert strategy.repeat.every == Interval(count=14 * 86400, unit="seconds")
    assert parse_interval("1 W") == Interval(count=7 * 86400, unit="seconds")
