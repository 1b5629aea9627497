"""Shared fixtures: one real devnet (anvil with the real Uniswap V3 and Aave V3 bytecode) per test
session, and an evm_snapshot / evm_revert around every test that uses it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tools.chain.addressbook import AddressBook
from tools.chain.anvil import Anvil, AnvilOptions
from tools.chain.plain import rpc
from tools.chain.rpc import connect
from tools.chain.running import DEVNET_WALLET
from tools.devnet.cache import DevnetImage, prepare

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Devnet:
    url: str
    pid: int
    book: AddressBook
    image: DevnetImage
    data_dir: Path
    wallet: str = DEVNET_WALLET

    @property
    def w3(self):
        return connect(self.url)


@pytest.fixture(scope="session")
def devnet_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="session")
def devnet_image(devnet_data_dir: Path) -> DevnetImage:
    return prepare(devnet_data_dir, DEVNET_WALLET, notify=lambda _message: None)


@pytest.fixture(scope="session")
def devnet_session(devnet_image: DevnetImage, devnet_data_dir: Path) -> Iterator[Devnet]:
    log = devnet_data_dir / "logs" / "anvil-tests.log"
    with Anvil(AnvilOptions(load_state=devnet_image.state), log) as anvil:
        assert anvil.process is not None
        yield Devnet(anvil.url, anvil.process.pid, devnet_image.book, devnet_image, devnet_data_dir)


@pytest.fixture
def devnet(devnet_session: Devnet) -> Iterator[Devnet]:
    """The session's devnet, reverted to its state before the test when the test ends."""
    w3 = devnet_session.w3
    snapshot = rpc(w3, "evm_snapshot")
    yield devnet_session
    rpc(w3, "evm_revert", snapshot)


def imported(stderr: str) -> set[str]:
    """The top-level packages a `-X importtime` run (or one with PYTHONPROFILEIMPORTTIME set)
    loaded."""
    return {
        line.split("|")[-1].strip().split(".")[0]
        for line in stderr.splitlines()
        if line.startswith("import time:")
    }


def start_cli(*args: str, data_dir: Path) -> subprocess.Popen[str]:
    """The real `defi-agent` CLI started in a subprocess with its own data directory, not waited
    for (to signal it, or to run several at once)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEFI_AGENT_")}
    env["DEFI_AGENT_DATA_DIR"] = str(data_dir)
    return subprocess.Popen(
        [sys.executable, "-m", "agent", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=data_dir.parent,
    )


def run_cli(
    *args: str, data_dir: Path, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """The real `defi-agent` CLI in a subprocess, with its own data directory."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("DEFI_AGENT_")}
    full_env["DEFI_AGENT_DATA_DIR"] = str(data_dir)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "agent", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=data_dir.parent,
        timeout=timeout,
    )
