"""The devnet image: anvil state plus address book, built once and cached in the data directory.

The cache key covers the artifact package versions, anvil's version, the bootstrap's own version and
the funded wallet, so a change to any of them builds a new image. A manifest holds the state file's
SHA-256: a truncated or edited state is detected before anvil tries to load it, and rebuilt.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from tools.chain.addressbook import AddressBook
from tools.chain.anvil import Anvil, AnvilOptions
from tools.devnet import artifacts
from tools.devnet.params import BOOTSTRAP_VERSION

Notify = Callable[[str], None]


def _stderr(message: str) -> None:
    sys.stderr.write(message + "\n")


@dataclass(frozen=True)
class DevnetImage:
    state: Path
    book: AddressBook


def cache_key(wallet: str) -> str:
    material = {"versions": artifacts.versions(), "bootstrap": BOOTSTRAP_VERSION, "wallet": wallet}
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:16]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _load(directory: Path) -> DevnetImage | None:
    """The cached image in ``directory`` if it is whole, else None."""
    manifest_path = directory / "manifest.json"
    if not manifest_path.is_file():
        return None
    try:
        manifest = json.loads(manifest_path.read_text())
        state = directory / "state.json"
        if _digest(state) != manifest["state_sha256"]:
            return None
        return DevnetImage(state, AddressBook.load(directory / "book.json"))
    except (OSError, ValueError, KeyError, ValidationError):
        return None


def _compact(dump_hex: str) -> bytes:
    """anvil's state without block and transaction history: ~0.8 MB instead of ~4, loads in <0.1 s."""
    state = json.loads(gzip.decompress(bytes.fromhex(dump_hex.removeprefix("0x"))))
    state["blocks"] = []
    state["transactions"] = []
    if "best_block_number" in state:
        state["best_block_number"] = 0
    return json.dumps(state, separators=(",", ":")).encode()


def build(directory: Path, wallet: str, log_path: Path) -> DevnetImage:
    """Deploy everything on a throwaway anvil and write its compacted state and address book."""
    from tools.chain.plain import rpc
    from tools.chain.rpc import connect
    from tools.devnet.bootstrap import bootstrap

    staging = directory.with_name(directory.name + ".building")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    with Anvil(AnvilOptions(), log_path) as anvil:
        w3 = connect(anvil.url)
        book = bootstrap(w3, wallet)
        dump = rpc(w3, "anvil_dumpState")
    (staging / "state.json").write_bytes(_compact(dump))
    book.save(staging / "book.json")
    manifest = {"state_sha256": _digest(staging / "state.json"), "wallet": wallet}
    (staging / "manifest.json").write_text(json.dumps(manifest, indent=2))
    shutil.rmtree(directory, ignore_errors=True)
    staging.rename(directory)
    return DevnetImage(directory / "state.json", book)


def prepare(data_dir: Path, wallet: str, notify: Notify = _stderr) -> DevnetImage:
    """The cached devnet image for ``wallet``, built (or rebuilt when corrupt or stale) if needed."""
    root = data_dir / "devnet"
    directory = root / cache_key(wallet)
    image = _load(directory)
    if image is not None:
        return image
    if directory.exists():
        notify("devnet cache is corrupt; rebuilding it")
    else:
        notify("building the devnet (Uniswap V3 and Aave V3 from their npm artifacts)...")
    for stale in root.glob("*") if root.is_dir() else ():
        if stale != directory:
            shutil.rmtree(stale, ignore_errors=True)
    return build(directory, wallet, data_dir / "logs" / "anvil-bootstrap.log")


def invalidate(data_dir: Path) -> None:
    shutil.rmtree(data_dir / "devnet", ignore_errors=True)
