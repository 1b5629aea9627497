"""Parsed intents per second with the offline rule parser (plus grounding), against a baseline in
the same process: validating the same plans from their JSON with pydantic."""

from __future__ import annotations

import json
import time

from agent.intents.grounding import check
from agent.intents.rules import RuleParser
from strategies.plan import StrategyPlan

INTENTS = [
    "swap 1 ETH for USDC",
    "swap 0.1 WBTC to USDC then supply it to aave",
    "sell half of my eth for dai with 0.3% slippage",
    "buy 1 eth with usdc",
    "withdraw my usdc from aave and swap it for eth",
    "borrow 1000 dai then swap it to usdc then supply the usdc",
    "repay my dai debt",
    "send 10 usdc to 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
]
ROUNDS = 300


def rate(fn) -> float:
    start = time.perf_counter()
    for _ in range(ROUNDS):
        for text in INTENTS:
            fn(text)
    return ROUNDS * len(INTENTS) / (time.perf_counter() - start)


def main() -> None:
    parser = RuleParser()
    documents = {t: json.dumps(parser.parse(t)) for t in INTENTS}
    parse = rate(lambda t: check(parser.parse(t), t, 50))
    validate = rate(lambda t: StrategyPlan.model_validate_json(documents[t]))
    print(f"rule parser + grounding   {parse:10,.0f} intents/s")
    print(f"pydantic validation only  {validate:10,.0f} plans/s   (baseline)")
    print(f"parse / validate          {parse / validate:10.2f}x")


if __name__ == "__main__":
    main()
