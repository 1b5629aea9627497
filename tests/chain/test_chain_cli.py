"""`defi-agent chain ...` and `portfolio` as a user runs them: the real CLI in a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from agent.errors import ChainUnavailable
from tests.chain.helpers import send
from tests.conftest import imported, run_cli, start_cli
from tests.proxy import ChainProxy
from tools.chain.addressbook import AddressBook
from tools.chain.anvil import Anvil, AnvilOptions, find_anvil
from tools.chain.rpc import connect
from tools.chain.running import DEVNET_WALLET
from tools.erc20.reads import balance, token


@pytest.fixture
def data_dir(tmp_path: Path, devnet_data_dir: Path, devnet_image: object) -> Iterator[Path]:
    """A data directory holding a copy of the session's devnet cache, so no test rebuilds it."""
    target = tmp_path / ".defi-agent"
    shutil.copytree(devnet_data_dir / "devnet", target / "devnet")
    yield target
    run_cli("chain", "down", data_dir=target)


def test_up_status_portfolio_down(data_dir: Path) -> None:
    up = run_cli("chain", "up", "--json", data_dir=data_dir)
    assert up.returncode == 0, up.stderr
    chain = json.loads(up.stdout)
    assert chain["profile"] == "local" and chain["chain_id"] == 31337

    portfolio = run_cli("portfolio", "--json", data_dir=data_dir)
    assert portfolio.returncode == 0, portfolio.stderr
    holdings = {h["symbol"]: h for h in json.loads(portfolio.stdout)["holdings"]}
    assert holdings["ETH"]["amount"] == "100" and holdings["ETH"]["usd"] == "300000"
    assert holdings["USDC"]["amount"] == "50000"
    assert "started" not in portfolio.stderr  # it used the chain that was up

    assert run_cli("chain", "down", data_dir=data_dir).returncode == 0
    status = run_cli("chain", "status", data_dir=data_dir)
    assert status.returncode == 5
    assert "no chain is running" in status.stderr


def test_first_command_starts_the_devnet_itself(data_dir: Path) -> None:
    result = run_cli("portfolio", "--json", data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    assert "started the local chain in the background" in result.stderr
    assert json.loads(result.stdout)["chain_id"] == 31337
    assert run_cli("chain", "status", data_dir=data_dir).returncode == 0


def test_warp_and_reset(data_dir: Path) -> None:
    before = json.loads(run_cli("chain", "up", "--json", data_dir=data_dir).stdout)
    warped = run_cli("chain", "warp", "30d", "--json", data_dir=data_dir)
    assert warped.returncode == 0, warped.stderr
    assert json.loads(warped.stdout)["advanced_seconds"] == 30 * 86400
    said = run_cli("chain", "warp", "1h", data_dir=data_dir, env={"TZ": "UTC"})
    when = time.strftime("%Y-%m-%d %H:", time.gmtime(json.loads(warped.stdout)["timestamp"] + 3600))
    assert said.returncode == 0 and "clock forward by 1h (3600 s); it is now " + when in said.stdout
    assert said.stdout.rstrip().endswith("UTC")  # a date, not seconds since 1970 (QA)
    bad = run_cli("chain", "warp", "soon", data_dir=data_dir)
    assert bad.returncode == 2 and "invalid duration 'soon'" in bad.stderr
    arabic = run_cli("chain", "warp", "\u0665d", data_dir=data_dir)  # QA: it warped 5 days
    assert arabic.returncode == 2 and "invalid duration" in arabic.stderr, arabic.stderr
    back = run_cli("chain", "warp", "-1d", data_dir=data_dir)  # was click's "No such option: -1"
    assert back.returncode == 2 and "clock only moves forward: '-1d'" in back.stderr, back.stderr
    huge = run_cli("chain", "warp", "99999999999999999999y", data_dir=data_dir)  # was exit 1
    assert huge.returncode == 2 and "is more than 100 years" in huge.stderr, huge.stderr
    reset = run_cli("chain", "reset", "--json", data_dir=data_dir)
    assert reset.returncode == 0
    assert json.loads(reset.stdout)["pid"] != before["pid"]


def test_reads_answer_without_web3(data_dir: Path) -> None:
    """`chain status`, `chain warp`, `portfolio` and `demo` read a block, move the clock or read
    balances, positions, a quote and markets, and nothing else: web3's import, most of the time
    each would take, is left out."""
    assert run_cli("chain", "up", data_dir=data_dir).returncode == 0
    timing = {"PYTHONPROFILEIMPORTTIME": "1"}
    status = run_cli("chain", "status", data_dir=data_dir, env=timing)
    assert status.returncode == 0, status.stderr
    block = status.stdout.splitlines()[-1]
    assert block.startswith("block 0, timestamp ")
    before = int(block.rsplit(" ", 1)[1])
    warped = run_cli("chain", "warp", "2h", "--json", data_dir=data_dir, env=timing)
    assert warped.returncode == 0, warped.stderr
    assert json.loads(warped.stdout)["timestamp"] >= before + 7200
    portfolio = run_cli("portfolio", "--json", data_dir=data_dir, env=timing)
    assert portfolio.returncode == 0, portfolio.stderr
    read = json.loads(portfolio.stdout)
    assert read["block"] == 1 and read["aave"]["health_factor"] is None
    assert {h["symbol"]: h["usd"] for h in read["holdings"]}["WBTC"] == "180000"
    demo = run_cli("demo", data_dir=data_dir, env={**timing, "COLUMNS": "60"})
    assert demo.returncode == 0, demo.stderr
    assert "Quote: 1 ETH -> " in demo.stdout and "Aave V3 markets" in demo.stdout
    assert "┃ utilisation ┃" in demo.stdout and "…" not in demo.stdout  # QA: "utilisat…"
    for result in (status, warped, portfolio, demo):
        assert not imported(result.stderr) & {"web3", "eth_account"}


def test_anvil_killed_mid_command_exits_5(data_dir: Path, devnet_image) -> None:
    """anvil dies while `portfolio` is reading: exit code 5, one clear line, no traceback."""
    with Anvil(AnvilOptions(load_state=devnet_image.state), data_dir / "victim.log") as anvil:
        assert anvil.process is not None
        pid = anvil.process.pid
        proxy = ChainProxy(anvil.url, budget=4, on_cut=lambda: os.kill(pid, signal.SIGKILL))
        record = {
            "profile": "local",
            "pid": anvil.process.pid,
            "port": int(proxy.url.rsplit(":", 1)[1]),
            "chain_id": 31337,
            "book": devnet_image.book.model_dump(),
        }
        (data_dir / "chain.json").write_text(json.dumps(record))
        result = run_cli("portfolio", data_dir=data_dir)
        proxy.shutdown()
    assert result.returncode == 5, result.stderr
    assert "the chain stopped answering" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "secret_url",
    [
        "http://127.0.0.1:9/v2/super-secret-api-key",
        # anvil writes these back normalised: a slash added, the host lower-cased, a space
        # percent-encoded; the log kept the key
        "http://127.0.0.1:9?apikey=super-secret-api-key",
        "HTTP://LOCALHOST:9/super-secret-api-key",
        "https://127.0.0.1:9/super-secret-api-key and more",
    ],
)
def test_unreachable_fork_url_exits_5_without_leaking_it(data_dir: Path, secret_url: str) -> None:
    env = {"DEFI_AGENT_PROFILE": "fork", "DEFI_AGENT_RPC_URL": secret_url}
    result = run_cli("chain", "up", data_dir=data_dir, env=env)
    assert result.returncode == 5
    assert "check DEFI_AGENT_RPC_URL" in result.stderr
    logs = "".join(p.read_text() for p in (data_dir / "logs").glob("*.log"))
    assert "super-secret-api-key" not in result.stderr + result.stdout + logs


def test_fork_profile_without_url_is_bad_input(data_dir: Path) -> None:
    result = run_cli("chain", "up", data_dir=data_dir, env={"DEFI_AGENT_PROFILE": "fork"})
    assert result.returncode == 2
    assert "needs an RPC URL" in result.stderr


def test_invalid_profile_is_bad_input(data_dir: Path) -> None:
    result = run_cli("portfolio", data_dir=data_dir, env={"DEFI_AGENT_PROFILE": "mainnet"})
    assert result.returncode == 2
    assert "DEFI_AGENT_PROFILE" in result.stderr


def test_fork_of_a_running_devnet(devnet, data_dir: Path) -> None:
    """The fork profile, for real: a fork of the devnet, at a URL carrying an API key. Reads and
    a swap work on the fork; the devnet itself is untouched. The key is not on anvil's command
    line, which every user of the machine can read, and what the fork read of the devnet is
    cached in the data directory until `chain down`, not in the user's ~/.foundry. Each `up`
    is a new fork: the sessions of the one before are void."""
    url = f"{devnet.url}/?apikey=super-secret-api-key"
    env = {"DEFI_AGENT_PROFILE": "fork", "DEFI_AGENT_RPC_URL": url}
    up = run_cli("chain", "up", "--json", data_dir=data_dir, env=env)
    assert up.returncode == 0, up.stderr
    fork = json.loads(up.stdout)
    assert "super-secret-api-key" not in " ".join(psutil.Process(fork["pid"]).cmdline())
    assert fork["profile"] == "fork" and fork["book"] == devnet.book.model_dump() | {
        "profile": "fork"
    }

    w3 = connect(fork["url"])
    book = devnet.book
    usdc = token(w3, book, "USDC")
    devnet_usdc = balance(devnet.w3, usdc, devnet.wallet)
    weth, router = book.token("WETH"), book.uniswap_v3.swap_router02
    send(w3, devnet.wallet, "weth9", weth, "deposit", value=10**18)
    send(w3, devnet.wallet, "erc20", weth, "approve", router, 10**18)
    params = (weth, usdc.address, 500, devnet.wallet, 10**18, 0, 0)
    send(w3, devnet.wallet, "swap_router02", router, "exactInputSingle", params)
    assert balance(w3, usdc, devnet.wallet) - devnet_usdc > 2900 * 10**6

    portfolio = json.loads(run_cli("portfolio", "--json", data_dir=data_dir, env=env).stdout)
    usdc_row = next(h for h in portfolio["holdings"] if h["symbol"] == "USDC")
    assert float(usdc_row["amount"]) > 52_900
    assert balance(devnet.w3, usdc, devnet.wallet) == devnet_usdc
    assert (data_dir / "fork-cache").is_dir()
    assert run_cli("session", "new", data_dir=data_dir, env=env).returncode == 0
    assert run_cli("chain", "down", data_dir=data_dir, env=env).returncode == 0
    assert not (data_dir / "fork-cache").exists()

    again = run_cli("chain", "up", data_dir=data_dir, env=env)  # a new fork: the session is void
    assert again.returncode == 0, again.stderr
    assert "voided 1 session of the chain before it started over" in again.stderr

    local = run_cli("portfolio", data_dir=data_dir)  # QA: the other profile's chain, unsaid
    assert local.returncode == 5
    assert "the fork chain is running in this data directory" in local.stderr
    assert "not the local one configured" in local.stderr and "chain down" in local.stderr
    assert run_cli("chain", "up", data_dir=data_dir).returncode == 5
    assert run_cli("chain", "down", data_dir=data_dir, env=env).returncode == 0


def test_missing_anvil_says_how_to_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ChainUnavailable) as caught:
        find_anvil(search_roots=(tmp_path,))
    assert caught.value.exit_code == 5
    assert "npm ci" in caught.value.one_line()


def test_busy_port_is_reported(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(ChainUnavailable) as caught:
            Anvil(AnvilOptions(port=port), tmp_path / "a.log").start()
    assert caught.value.code == "port_busy"
    assert f"port {port} is already in use" in caught.value.message


def test_state_survives_down_and_up_and_reset_discards_it(data_dir: Path) -> None:
    """What the user did on the devnet is still there after `chain down` / `chain up`; `reset`
    starts over from the devnet image."""
    chain = json.loads(run_cli("chain", "up", "--json", data_dir=data_dir).stdout)
    w3 = connect(chain["url"])
    usdc = token(w3, AddressBook.model_validate(chain["book"]), "USDC")
    send(
        w3,
        DEVNET_WALLET,
        "erc20",
        usdc.address,
        "transfer",
        "0x000000000000000000000000000000000000dEaD",
        10**6,
    )
    assert run_cli("chain", "down", data_dir=data_dir).returncode == 0

    again = json.loads(run_cli("chain", "up", "--json", data_dir=data_dir).stdout)
    assert balance(connect(again["url"]), usdc, DEVNET_WALLET) == 50_000 * 10**6 - 10**6
    assert again["url"] == chain["url"]  # the same port: an open chat finds the chain again

    fresh = json.loads(run_cli("chain", "reset", "--json", data_dir=data_dir).stdout)
    assert balance(connect(fresh["url"]), usdc, DEVNET_WALLET) == 50_000 * 10**6


def test_a_warped_clock_survives_down_and_up(data_dir: Path) -> None:
    """After `chain warp 30d`, a restarted devnet goes on from the warped time: a block mined in
    the past (anvil's default) makes every Aave read revert, and `portfolio` with it."""
    assert run_cli("chain", "warp", "30d", data_dir=data_dir).returncode == 0
    assert run_cli("chain", "down", data_dir=data_dir).returncode == 0
    chain = json.loads(run_cli("chain", "up", "--json", data_dir=data_dir).stdout)
    w3 = connect(chain["url"])
    warped = w3.eth.get_block("latest")["timestamp"]

    done = run_cli("do", "swap 0.1 ETH for USDC", "--yes", data_dir=data_dir)

    assert done.returncode == 0, done.stderr
    assert w3.eth.get_block("latest")["timestamp"] > warped
    assert run_cli("portfolio", data_dir=data_dir).returncode == 0


def test_a_session_begun_after_warp_stays_valid_across_down_and_up(data_dir: Path) -> None:
    """The restarted devnet went on from its last block, behind the time the session was
    begun at a few seconds later, so the session was void ("the chain was reset since"). It
    goes on as far ahead of the wall clock as when it stopped. `chain reset` forgets that."""
    assert run_cli("chain", "warp", "30d", data_dir=data_dir).returncode == 0
    time.sleep(2)  # the session begins after the warp's block
    assert run_cli("session", "new", data_dir=data_dir).returncode == 0
    assert run_cli("chain", "down", data_dir=data_dir).returncode == 0
    assert run_cli("chain", "up", data_dir=data_dir).returncode == 0

    (listed,) = json.loads(run_cli("session", "list", "--json", data_dir=data_dir).stdout)
    assert listed["state"] == "active"
    done = run_cli("do", "swap 0.1 ETH for USDC", "--yes", data_dir=data_dir)
    assert done.returncode == 0, done.stderr

    assert run_cli("chain", "reset", data_dir=data_dir).returncode == 0
    chain = json.loads(run_cli("chain", "status", "--json", data_dir=data_dir).stdout)
    assert connect(chain["url"]).eth.get_block("latest")["timestamp"] < time.time() + 86400


def test_a_hung_chain_is_reported_not_replaced(devnet, tmp_path: Path) -> None:
    """The data directory's anvil is alive but does not answer (here: its record points at a port
    that accepts and never replies). Commands exit 5 saying so; they do not start a second devnet
    from the saved state in its place, which sent transactions to a chain that then vanished."""
    from tests.strategies.kit import attach

    data_dir = attach(devnet, tmp_path / "data")
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    record = json.loads((data_dir / "chain.json").read_text())
    record["port"] = silent.getsockname()[1]
    (data_dir / "chain.json").write_text(json.dumps(record))

    result = run_cli("portfolio", "--json", data_dir=data_dir)
    silent.close()

    assert result.returncode == 5, result.stderr
    error = json.loads(result.stdout)["error"]
    assert (
        f"(anvil, pid {devnet.pid}, port {record['port']}) is running but did not"
        in (error["message"])
    )
    assert "started the local chain" not in result.stderr
    assert json.loads((data_dir / "chain.json").read_text()) == record


def _voided_and_refused(data_dir: Path, started: str) -> None:
    """The chain's start (its stderr ``started``) voided the one session, which signs nothing."""
    assert "voided 1 session of the chain before it started over" in started
    (listed,) = json.loads(run_cli("session", "list", "--json", data_dir=data_dir).stdout)
    assert listed["state"] == "void"
    done = run_cli("do", "swap 0.1 ETH for USDC", "--yes", data_dir=data_dir)
    assert done.returncode == 3, done.stderr
    assert "the chain started over since the session began" in done.stderr


def test_a_session_expired_before_a_chain_reset_stays_expired_after_it(data_dir: Path) -> None:
    """`chain reset` puts the clock back to about the wall clock's time: a 1h session that
    `chain warp 2h` had expired was within its hour again, and authorised, its old spend
    counted. Every session of the chain before the reset is void on the new one."""
    assert run_cli("session", "new", "--ttl", "1h", data_dir=data_dir).returncode == 0
    assert run_cli("chain", "warp", "2h", data_dir=data_dir).returncode == 0
    (listed,) = json.loads(run_cli("session", "list", "--json", data_dir=data_dir).stdout)
    assert listed["state"] == "expired"

    reset = run_cli("chain", "reset", data_dir=data_dir)

    assert reset.returncode == 0, reset.stderr
    _voided_and_refused(data_dir, reset.stderr)


def test_three_ups_at_once_start_one_chain_and_void_nothing(data_dir: Path) -> None:
    """QA: three `chain up` at once each started an anvil on the one state file; the chain lost
    its history, said it had been killed, voided the sessions, and two anvils ran on."""
    assert run_cli("session", "new", data_dir=data_dir).returncode == 0
    assert run_cli("do", "swap 0.1 ETH for USDC", "--yes", data_dir=data_dir).returncode == 0
    assert run_cli("chain", "down", data_dir=data_dir).returncode == 0

    ups = [start_cli("chain", "up", "--json", data_dir=data_dir) for _ in range(3)]
    outcomes = [p.communicate(timeout=120) for p in ups]

    assert [p.returncode for p in ups] == [0, 0, 0], outcomes
    assert len({json.loads(out)["pid"] for out, _ in outcomes}) == 1
    assert not any("not stopped cleanly" in err or "voided" in err for _, err in outcomes)
    anvils = [p for p in psutil.process_iter(["name", "cmdline"]) if p.info["name"] == "anvil"]
    assert sum(str(data_dir) in " ".join(p.info["cmdline"] or ()) for p in anvils) == 1
    (listed,) = json.loads(run_cli("session", "list", "--json", data_dir=data_dir).stdout)
    assert listed["state"] == "active"
    status = run_cli("chain", "status", data_dir=data_dir)
    assert status.stdout.splitlines()[-1].startswith("block 1, "), status.stdout  # the swap kept


def test_a_chain_whose_anvil_was_killed_starts_over_and_voids_its_sessions(data_dir: Path) -> None:
    """anvil writes its state back only when it stops: killed, the devnet's next `up` goes on
    from the state of its last clean stop, its clock put back. A 1h session that `chain warp 2h`
    had expired was within its hour again and authorised (QA); now it is void, and the user is
    told the chain went back. A clean `down` and `up` voids nothing (the test above)."""
    assert run_cli("session", "new", "--ttl", "1h", data_dir=data_dir).returncode == 0
    assert run_cli("chain", "warp", "2h", data_dir=data_dir).returncode == 0
    pid = json.loads((data_dir / "chain.json").read_text())["pid"]
    os.kill(pid, signal.SIGKILL)
    psutil.Process(pid).wait(timeout=10)

    up = run_cli("chain", "up", data_dir=data_dir)

    assert up.returncode == 0, up.stderr
    assert "the chain was not stopped cleanly (its anvil was killed)" in up.stderr
    _voided_and_refused(data_dir, up.stderr)
    assert run_cli("chain", "down", data_dir=data_dir).returncode == 0
    again = run_cli("chain", "up", data_dir=data_dir)
    assert again.returncode == 0 and "not stopped cleanly" not in again.stderr, again.stderr
