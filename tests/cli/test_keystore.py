"""The wallet key from an encrypted keystore file (DEFI_AGENT_KEYSTORE), through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eth_account import Account

from tests.conftest import imported, run_cli
from tests.strategies.kit import attach
from tools.chain.running import DEVNET_KEY

PASSWORD = "correct horse battery staple"


@pytest.fixture
def keystore(tmp_path: Path) -> Path:
    path = tmp_path / "wallet.json"
    path.write_text(
        json.dumps(Account.encrypt(DEVNET_KEY, PASSWORD, kdf="pbkdf2", iterations=1024))
    )
    return path


@pytest.mark.parametrize("kdf", ["pbkdf2", "scrypt"])
def test_the_keystore_unlocks_the_wallet(devnet, tmp_path: Path, kdf: str) -> None:
    """Without importing eth_account (~0.4 s): `tools.chain.keystore` decrypts it."""
    path = tmp_path / "wallet.json"
    path.write_text(json.dumps(Account.encrypt(DEVNET_KEY, PASSWORD, kdf=kdf, iterations=1024)))
    env = {
        "DEFI_AGENT_KEYSTORE": str(path),
        "DEFI_AGENT_KEYSTORE_PASSWORD": PASSWORD,
        "PYTHONPROFILEIMPORTTIME": "1",
    }

    result = run_cli("portfolio", "--json", data_dir=attach(devnet, tmp_path / "data"), env=env)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["wallet"] == devnet.wallet
    assert "eth_account" not in imported(result.stderr)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEFI_AGENT_KEYSTORE_PASSWORD": "hunter2-not-it"}, "wrong password"),
        ({}, "needs its password"),
        ({"DEFI_AGENT_PRIVATE_KEY": DEVNET_KEY}, "both DEFI_AGENT_PRIVATE_KEY and"),
    ],
)
def test_keystore_problems_are_clear_and_leak_nothing(
    devnet, tmp_path: Path, keystore: Path, env: dict[str, str], message: str
) -> None:
    env = {"DEFI_AGENT_KEYSTORE": str(keystore), **env}

    result = run_cli("portfolio", data_dir=attach(devnet, tmp_path / "data"), env=env)

    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    for secret in (PASSWORD, "hunter2-not-it", DEVNET_KEY, DEVNET_KEY[2:]):
        assert secret not in result.stdout + result.stderr


def _other_cipher() -> object:
    stored = Account.encrypt(DEVNET_KEY, PASSWORD, kdf="pbkdf2", iterations=1024)
    stored["crypto"]["cipher"] = "aes-128-cbc"
    return stored


def _rounds(count: int) -> object:
    stored = Account.encrypt(DEVNET_KEY, PASSWORD, kdf="pbkdf2", iterations=1024)
    stored["crypto"]["kdfparams"]["c"] = count
    return stored


@pytest.mark.parametrize(
    "stored",
    [_other_cipher(), [], "a string", {"version": 3, "crypto": "x"}, _rounds(10**10), _rounds(0)],
    ids=[
        "other cipher",
        "a list",
        "a string",
        "crypto not an object",
        "pbkdf2 10**10 rounds",  # QA: an internal error (OverflowError); 10**9 would hang
        "pbkdf2 0 rounds",
    ],
)
def test_a_keystore_this_cannot_read_is_named(devnet, tmp_path: Path, stored: object) -> None:
    """Not an object (a list, a string) was an internal error: AttributeError."""
    path = tmp_path / "wallet.json"
    path.write_text(json.dumps(stored))
    env = {"DEFI_AGENT_KEYSTORE": str(path), "DEFI_AGENT_KEYSTORE_PASSWORD": PASSWORD}

    result = run_cli("portfolio", data_dir=attach(devnet, tmp_path / "data"), env=env)

    assert result.returncode == 2
    assert f"{path} is not a keystore v3 file this reads" in result.stderr
    assert "scrypt or pbkdf2" in result.stderr and "Traceback" not in result.stderr


ANVIL_1 = (
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
)


@pytest.mark.parametrize("key", ["0xnothex", ANVIL_1[0][:-2], "0x" + "00" * 32])
def test_an_invalid_private_key_is_refused_without_echoing_it(
    devnet, tmp_path: Path, key: str
) -> None:
    env = {"DEFI_AGENT_PRIVATE_KEY": key}

    result = run_cli("portfolio", data_dir=attach(devnet, tmp_path / "data"), env=env)

    assert result.returncode == 2
    assert "DEFI_AGENT_PRIVATE_KEY is not a valid private key" in result.stderr
    assert key.removeprefix("0x") not in result.stdout + result.stderr


def test_a_private_key_names_its_own_wallet(devnet, tmp_path: Path) -> None:
    env = {"DEFI_AGENT_PRIVATE_KEY": ANVIL_1[0]}

    result = run_cli("portfolio", "--json", data_dir=attach(devnet, tmp_path / "data"), env=env)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["wallet"] == ANVIL_1[1]
