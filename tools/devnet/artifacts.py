"""Build artifacts from the audited npm packages, with Solidity library linking.

web3.py does not link Hardhat artifacts: unlinked bytecode holds placeholders ``__$<34 hex>$__``
(the first 34 hex characters of keccak256("sourcePath:LibName")) at the offsets in ``linkReferences``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from agent.errors import ChainUnavailable
from tools.chain.anvil import PROJECT_ROOT

PACKAGES = {
    "aave": "@aave/core-v3/artifacts/contracts",
    "v3-core": "@uniswap/v3-core/artifacts/contracts",
    "v3-periphery": "@uniswap/v3-periphery/artifacts/contracts",
    "swap-router": "@uniswap/swap-router-contracts/artifacts/contracts",
}


@dataclass(frozen=True)
class Artifact:
    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    link_references: dict[str, dict[str, list[dict[str, int]]]]

    def linked(self, libraries: dict[str, str]) -> bytes:
        """The creation bytecode with each referenced library's address spliced in."""
        code = list(self.bytecode.removeprefix("0x"))
        for source, libs in self.link_references.items():
            for lib, places in libs.items():
                if lib not in libraries:
                    raise KeyError(f"{self.name} needs library {source}:{lib}")
                address = libraries[lib].removeprefix("0x").lower()
                for place in places:
                    start = 2 * place["start"]
                    code[start : start + 2 * place["length"]] = address
        return bytes.fromhex("".join(code))


def node_modules() -> Path:
    for root in (Path.cwd(), PROJECT_ROOT):
        if (root / "node_modules" / "@aave" / "core-v3").is_dir():
            return root / "node_modules"
    raise ChainUnavailable(
        "the protocol artifacts are not installed", hint="run `npm ci` in the project directory"
    )


@cache
def load(package: str, relative: str) -> Artifact:
    """``load("aave", "protocol/pool/Pool.sol/Pool")`` reads that artifact's JSON."""
    path = node_modules() / PACKAGES[package] / f"{relative}.json"
    data = json.loads(path.read_text())
    return Artifact(
        name=data["contractName"],
        abi=data["abi"],
        bytecode=data["bytecode"],
        link_references=data.get("linkReferences", {}),
    )


def versions() -> dict[str, str]:
    """The installed version of every artifact package and of anvil: part of the cache key."""
    root = node_modules()
    names = [p.split("/artifacts")[0] for p in PACKAGES.values()] + ["@foundry-rs/anvil"]
    return {n: json.loads((root / n / "package.json").read_text())["version"] for n in names}
