"""The chat app driven by Textual's Pilot on the real devnet."""

from __future__ import annotations

import asyncio
import sqlite3
from decimal import Decimal

from textual import events

from agent.db import DB_NAME
from agent.tui.app import DefiAgentApp
from agent.tui.chat import ChatLog
from agent.tui.help import HelpScreen
from agent.tui.plan_card import PlanCard
from agent.tui.prompt import Prompt
from agent.tui.sidebar import Sidebar
from tests.conftest import run_cli
from tests.proxy import ChainProxy
from tests.strategies.kit import attach
from tests.tui.conftest import say, until
from tools.aave_v3.reads import account


def holding(app, symbol: str) -> Decimal:
    snapshot = app.query_one(Sidebar).snapshot
    return next(h.amount for h in snapshot.portfolio.holdings if h.symbol == symbol)


def card(app) -> PlanCard:
    return list(app.query(PlanCard))[-1]


def test_swap_plan_card_execute_and_sidebar(make_app, devnet) -> None:
    async def scenario() -> None:
        app = make_app()
        async with app.run_test(size=(100, 40)) as pilot:
            await until(pilot, lambda: app.query_one(Sidebar).snapshot is not None)
            usdc_before = holding(app, "USDC")
            await say(pilot, "swap 1 ETH for USDC")
            await until(pilot, lambda: app.pending is not None)
            simulated = card(app).simulation.deltas["USDC"]
            assert Decimal(2980) < simulated < Decimal(3000)
            await pilot.press("y")
            await until(pilot, lambda: card(app).outcome.startswith("Done"))
            await until(pilot, lambda: holding(app, "USDC") != usdc_before)
            assert holding(app, "USDC") - usdc_before == simulated
            assert "verified on chain" in card(app).outcome

    asyncio.run(scenario())


def test_request_above_the_allowance_shows_the_rule(make_app, devnet) -> None:
    async def scenario() -> None:
        app = make_app()
        nonce = devnet.w3.eth.get_transaction_count(devnet.wallet)
        async with app.run_test(size=(100, 40)) as pilot:
            await say(pilot, "swap 2 ETH for USDC")
            await until(pilot, lambda: card(app).decision is not None and card(app).outcome)
            assert not card(app).decision.allowed
            rules = [v.rule for v in card(app).decision.violations]
            assert "spend.per_tx" in rules
            assert "above the 5,000.00 USD cap" in card(app).outcome
            await pilot.press("y")
            await pilot.pause(0.3)
        assert devnet.w3.eth.get_transaction_count(devnet.wallet) == nonce

    asyncio.run(scenario())


def test_after_a_denial_make_it_smaller(make_app, devnet) -> None:
    """The offline parser understands a follow-up: the new card has the new amount and passes."""

    async def scenario() -> None:
        app = make_app()
        async with app.run_test(size=(100, 40)) as pilot:
            await say(pilot, "swap 2 ETH for USDC")
            await until(pilot, lambda: card(app).decision is not None)
            assert not card(app).decision.allowed
            await say(pilot, "make it 1 ETH instead")
            await until(pilot, lambda: app.pending is not None)
            assert card(app).proposed.plan["steps"][0]["amount"] == "1"
            assert card(app).decision.allowed
            assert Decimal(2980) < card(app).simulation.deltas["USDC"] < Decimal(3000)

    asyncio.run(scenario())


def test_session_revoke_stops_the_agent_until_session_new(make_app, devnet) -> None:
    async def scenario() -> None:
        app = make_app()

        def session_state() -> str:
            snapshot = app.query_one(Sidebar).snapshot
            return "" if snapshot is None else snapshot.session.state

        def said() -> str:
            return "".join(str(m.source) for m in app.query_one(ChatLog).query("Markdown"))

        async with app.run_test(size=(100, 40)) as pilot:
            await until(pilot, lambda: session_state() == "not started")
            await say(pilot, "swap 0.1 ETH for USDC")
            await until(pilot, lambda: app.pending is not None)
            await pilot.press("y")
            await until(pilot, lambda: card(app).outcome.startswith("Done"))
            await until(pilot, lambda: session_state() == "active")
            await say(pilot, "/session revoke")
            await until(pilot, lambda: "nothing more is signed until you start a new one" in said())
            await say(pilot, "swap 0.1 ETH for USDC")
            await until(pilot, lambda: card(app).decision is not None and card(app).outcome)
            assert [v.rule for v in card(app).decision.violations] == ["session.active"]
            assert "/session new" in card(app).outcome
            shown = " ".join(_text(card(app)).split())  # QA: the command's backticks showed
            assert "(defi-agent session new, or /session new" in shown, shown
            await until(pilot, lambda: session_state() == "revoked")
            await say(pilot, "/session new 12h")  # a lone duration is the TTL, not a policy
            await until(pilot, lambda: "expires in 11h" in said())
            await say(pilot, "swap 0.1 ETH for USDC")
            await until(pilot, lambda: app.pending is not None)
            assert card(app).decision.allowed

    asyncio.run(scenario())


def test_warp_raises_the_supplied_balance(make_app) -> None:
    async def scenario() -> None:
        app = make_app()
        async with app.run_test(size=(100, 40)) as pilot:
            await say(pilot, "supply 1000 usdc to aave")
            await until(pilot, lambda: app.pending is not None)
            await pilot.press("y")
            await until(pilot, lambda: card(app).outcome.startswith("Done"))

            def supplied() -> Decimal:
                positions = app.query_one(Sidebar).snapshot.portfolio.aave.positions
                return positions[0].supplied if positions else Decimal(0)

            await until(pilot, lambda: supplied() >= 1000)
            before = supplied()
            await say(pilot, "/warp 30d")
            await until(pilot, lambda: supplied() > before)
            assert supplied() - before > Decimal("1")
            # the 24 h session did not live through it: said at once, not by the next denial
            await until(pilot, lambda: "has expired on the chain's clock" in _said(app))

    asyncio.run(scenario())


def test_dead_chain_then_back(make_app, devnet) -> None:
    async def scenario() -> None:
        proxy = ChainProxy(devnet.url)
        app = make_app(proxy.url)
        async with app.run_test(size=(100, 40)) as pilot:
            await until(pilot, lambda: app.query_one(Sidebar).snapshot is not None)
            proxy.cut = True
            await say(pilot, "swap 1 ETH for USDC")
            log = app.query_one(ChatLog)
            await until(
                pilot,
                lambda: (
                    "chain_unreachable" in "".join(str(m.source) for m in log.query("Markdown"))
                ),
            )
            proxy.cut = False
            await say(pilot, "swap 1 ETH for USDC")
            await until(pilot, lambda: app.pending is not None)
            assert card(app).decision.allowed

    asyncio.run(scenario())


def test_help_screen_and_questions(make_app) -> None:
    async def scenario() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("f1")
            assert isinstance(app.screen, HelpScreen)
            await pilot.press("escape")
            assert not isinstance(app.screen, HelpScreen)
            await say(pilot, "how much USDC do I have?")
            log = app.query_one(ChatLog)
            await until(
                pilot,
                lambda: "50,000 USDC" in "".join(str(m.source) for m in log.query("Markdown")),
            )
            await say(pilot, "what's my health factor?")
            await until(
                pilot, lambda: "no debt" in "".join(str(m.source) for m in log.query("Markdown"))
            )

    asyncio.run(scenario())


def test_a_spinner_says_what_the_agent_is_doing_while_it_works(make_app, devnet) -> None:
    """A slow network (every answer from the real node held back 0.1 s) keeps the work visible;
    the UI keeps answering keys meanwhile, and the spinner goes away with the work."""

    async def scenario() -> None:
        proxy = ChainProxy(devnet.url, delay=0.1)
        app = make_app(proxy.url)
        async with app.run_test(size=(100, 40)) as pilot:
            await until(pilot, lambda: app.query_one(Sidebar).snapshot is not None)
            busy = app.busy
            assert busy.label == ""
            await say(pilot, "swap 1 ETH for USDC")
            await until(pilot, lambda: busy.label.startswith("planning"))
            await pilot.press("f1")  # the UI still answers while the plan is being worked out
            assert isinstance(app.screen, HelpScreen)
            await pilot.press("escape")
            await until(pilot, lambda: app.pending is not None, timeout=60)
            await until(pilot, lambda: busy.label == "")
            await pilot.press("y")
            await until(pilot, lambda: busy.label.startswith("signing"))
            await until(pilot, lambda: "Done" in card(app).outcome, timeout=60)
            await until(pilot, lambda: busy.label == "")
        proxy.shutdown()

    asyncio.run(scenario())


def test_typing_on_a_card_is_text_not_plan_keys(make_app, devnet) -> None:
    """A request typed while a card has the focus goes to the prompt whole: the y of "my" does
    not execute the plan; and a card arriving while the user types does not take the focus (the
    chain is slowed through a proxy so that the typing comes first)."""

    async def scenario() -> None:
        proxy = ChainProxy(devnet.url)
        app = make_app(proxy.url)
        nonce = devnet.w3.eth.get_transaction_count(devnet.wallet)
        async with app.run_test(size=(100, 40)) as pilot:
            await say(pilot, "swap 0.1 ETH for USDC")
            await until(pilot, lambda: app.pending is not None)
            assert isinstance(app.focused, PlanCard)
            await pilot.press(*"what is my balance")
            prompt = app.query_one(Prompt)
            assert prompt.value == "what is my balance" and prompt.has_focus
            assert app.pending is not None  # still waiting for an answer

            proxy.delay = 0.2
            await say(pilot, "swap 0.2 ETH for USDC")
            await pilot.press(*"yes")  # typed while the next plan is being worked out
            proxy.delay = 0.0
            await until(pilot, lambda: app.pending is not None and card(app).plan_id == app.pending)
            await pilot.press("y")
            assert prompt.has_focus and prompt.value == "yesy"
        assert devnet.w3.eth.get_transaction_count(devnet.wallet) == nonce

    asyncio.run(scenario())


def test_a_request_beginning_with_a_plan_key_is_text(make_app, devnet) -> None:
    """QA: on a card, "no, make it half" discarded the plan on its n (and the prompt got "o, make
    it half"), and a request beginning with y would have executed it. A plan key acts only when
    nothing is typed after it; alone, it still answers the plan."""

    async def scenario() -> None:
        app = make_app()
        nonce = devnet.w3.eth.get_transaction_count(devnet.wallet)
        async with app.run_test(size=(100, 40)) as pilot:
            await say(pilot, "swap 0.1 ETH for USDC")
            await until(pilot, lambda: app.pending is not None)
            first = app.pending
            await pilot.press(*"no, make it half")
            prompt = app.query_one(Prompt)
            assert prompt.value == "no, make it half" and app.pending == first
            await pilot.press("enter")
            await until(pilot, lambda: app.pending not in (None, first))
            assert card(app).proposed.plan["steps"][0]["amount"] == "0.05"
            await pilot.press(*"yield")
            await pilot.pause(0.5)
            assert (
                prompt.value == "yield"
                and devnet.w3.eth.get_transaction_count(devnet.wallet) == nonce
            )
            prompt.value = ""
            app.set_focus(None)  # QA: focus moved off the card (Tab), a y executed the plan
            await pilot.press("y")
            await pilot.pause(0.5)
            assert app.pending is not None
            card(app).focus()
            await pilot.press("n")
            await until(pilot, lambda: app.pending is None)
            assert card(app).outcome.startswith("Discarded"), card(app).outcome
        assert devnet.w3.eth.get_transaction_count(devnet.wallet) == nonce

    asyncio.run(scenario())


def test_a_follow_up_not_understood_leaves_the_plan_open(make_app, devnet) -> None:
    """QA: "make it 1000 usdc instead" of a swap-then-supply plan asked to say the whole request,
    and had discarded the plan on the card. It stays open, to answer or to say again, and its
    card has the keys again; so does a request planned that cannot be carried out."""

    async def scenario() -> None:
        app = make_app()
        async with app.run_test(size=(100, 40)) as pilot:
            await say(pilot, "swap 0.5 eth to usdc then supply it")
            await until(pilot, lambda: app.pending is not None)
            first = card(app)
            await say(pilot, "make it 1000 usdc instead")
            log = app.query_one(ChatLog)
            await until(
                pilot,
                lambda: "whole request" in "".join(str(m.source) for m in log.query("Markdown")),
            )
            assert app.pending == first.plan_id and first.outcome == ""
            await until(pilot, lambda: first.has_focus)  # QA: the keys were text from then on

            # QA: a plan that cannot be carried out discarded the open one
            await say(pilot, "repay all my wbtc")
            await until(pilot, lambda: card(app) is not first and card(app).outcome)
            assert "you owe no WBTC" in card(app).outcome, card(app).outcome
            assert app.pending == first.plan_id and first.outcome == ""
            await until(pilot, lambda: first.has_focus)
            await pilot.press("n")
            await until(pilot, lambda: first.outcome.startswith("Discarded"))

    asyncio.run(scenario())


def test_a_denied_follow_up_leaves_the_allowed_plan_open(make_app, devnet) -> None:
    """QA: "make it 4x" of an allowed swap was denied (over the 5,000 USD cap) and had discarded
    the plan that was allowed. The denied card says why; the plan before stays open, the chat
    says so, its card has the keys again, and y executes it as it was shown."""

    async def scenario() -> None:
        app = make_app()
        eth_before = devnet.w3.eth.get_balance(devnet.wallet)
        async with app.run_test(size=(100, 40)) as pilot:
            await say(pilot, "swap 0.5 eth for usdc")
            await until(pilot, lambda: app.pending is not None)
            first = card(app)
            await say(pilot, "make it 4x")
            await until(pilot, lambda: card(app) is not first and card(app).outcome)
            denied = card(app)
            assert denied.proposed.plan["steps"][0]["amount"] == "2"
            assert not denied.decision.allowed and "5,000.00 USD cap" in denied.outcome
            log = app.query_one(ChatLog)
            said = lambda: "".join(str(m.source) for m in log.query("Markdown"))  # noqa: E731
            await until(
                pilot, lambda: f"The plan before it, {first.plan_id}, is still open" in said()
            )
            assert app.pending == first.plan_id and first.outcome == ""
            await until(pilot, lambda: first.has_focus)
            await pilot.press("y")
            await until(pilot, lambda: first.outcome.startswith("Done"))
        spent = eth_before - devnet.w3.eth.get_balance(devnet.wallet)
        assert 5 * 10**17 <= spent < 51 * 10**16  # the 0.5 ETH shown, and its fee

    asyncio.run(scenario())


def test_answers_stay_in_view_while_a_plan_is_open_and_y_shows_its_card(make_app, devnet) -> None:
    """QA: with a plan open, the answer to each question or follow-up went out of view: the
    open card took the keys back and the log scrolled up to it, and stopped following. Now the
    log stays on the newest answer; a plan key brings the card it answers into view."""

    def in_view(log: ChatLog, widget) -> bool:
        top, bottom = log.scroll_y, log.scroll_y + log.scrollable_content_region.height
        region = widget.virtual_region
        return region.y < bottom and region.bottom > top

    async def scenario() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            log = app.query_one(ChatLog)
            await say(pilot, "swap 0.1 eth for usdc")
            await until(pilot, lambda: app.pending is not None)
            first = card(app)
            await say(pilot, "make it 100x")
            await until(pilot, lambda: "is still open" in _said(app))
            for asked, question in enumerate(("price of eth", "price of wbtc"), start=1):
                await say(pilot, question)
                await until(pilot, lambda n=asked: _said(app).count("oracle") == n)
                await until(pilot, lambda: first.has_focus)
                await pilot.pause(0.2)
                newest = list(log.query("Markdown"))[-1]
                assert in_view(log, newest) and not in_view(log, first)
            await pilot.press("y")
            await until(pilot, lambda: first.outcome.startswith("Done"))
            assert in_view(log, first)

    asyncio.run(scenario())


def test_slash_command_mistakes_are_answered_in_the_chat(make_app, devnet) -> None:
    """A mistyped command gets its reply in the conversation, not only a toast that fades; a bare
    /warp moves nothing; /clear records the waiting plan as discarded."""

    async def scenario() -> None:
        app = make_app()
        block = devnet.w3.eth.block_number
        async with app.run_test(size=(100, 40)) as pilot:
            log = app.query_one(ChatLog)

            def said(text: str) -> bool:
                return text in "".join(str(m.source) for m in log.query("Markdown"))

            await say(pilot, "/foo")
            await until(pilot, lambda: said("unknown command /foo: try /help"))
            await say(pilot, "/warp")
            await until(pilot, lambda: said("Usage: /warp DURATION"))
            await say(pilot, "/warp abc")
            await until(pilot, lambda: said("**error**: invalid duration 'abc'"))
            assert devnet.w3.eth.block_number == block

            await say(pilot, "swap 0.1 ETH for USDC")
            await until(pilot, lambda: app.pending is not None)
            plan_id = app.pending
            await say(pilot, "/clear")
            await until(pilot, lambda: app.pending is None)
            await until(pilot, lambda: said(f"discarded plan {plan_id}: nothing sent"))
            assert not list(app.query(PlanCard))
        (row,) = [p for p in app.service.journal.plans(10) if p.id == plan_id]
        assert row.status == "discarded"

    asyncio.run(scenario())


def test_keys_typed_on_a_card_in_one_burst_are_all_text(make_app, devnet) -> None:
    """Keys that arrive together (pasted, or over ssh) reach the app before the prompt has the
    focus the first of them gave it: the y of "my" executed the plan, and "/session revoke" hit
    the e and n bindings."""

    async def scenario() -> None:
        app = make_app()
        nonce = devnet.w3.eth.get_transaction_count(devnet.wallet)
        async with app.run_test(size=(100, 40)) as pilot:
            await say(pilot, "swap 10 USDC to DAI")
            await until(pilot, lambda: app.pending is not None)
            assert isinstance(app.focused, PlanCard)
            for key in "what is my balance":
                app.post_message(events.Key(key if key != " " else "space", key))
            await until(pilot, lambda: app.query_one(Prompt).value == "what is my balance")
            await pilot.pause(0.2)
            assert app.pending is not None  # neither executed nor discarded

            # QA: the Enter of a follow-up typed in one go was lost, and a backspace
            app.query_one(Prompt).value = ""
            first = app.pending
            card(app).focus()
            keys = [*"make it 55", "backspace", *" instead", "enter"]
            for key in keys:
                name = {" ": "space"}.get(key, key)
                app.post_message(
                    events.Key(name, {"backspace": "\x08", "enter": "\r"}.get(key, key))
                )
            await until(pilot, lambda: app.pending not in (None, first))
            assert card(app).proposed.plan["steps"][0]["amount"] == "5"
        assert devnet.w3.eth.get_transaction_count(devnet.wallet) == nonce

    asyncio.run(scenario())


async def _sending(pilot, text: str) -> PlanCard:
    """The card of ``text``'s plan, once `y` has it signed and sent."""
    app = pilot.app
    await say(pilot, text)
    await until(pilot, lambda: app.pending is not None, timeout=60)
    sent = card(app)
    await pilot.press("y")
    await until(pilot, lambda: app.busy.label.startswith("signing"))
    return sent


def test_a_request_typed_while_a_plan_is_sent_waits_for_it(make_app, devnet) -> None:
    """The new request cancelled the plan being sent: one swap of three was sent, the rest never
    were, and the card stopped without an outcome."""

    async def scenario() -> None:
        proxy = ChainProxy(devnet.url, delay=0.05)
        app = make_app(proxy.url)
        async with app.run_test(size=(100, 40)) as pilot:
            text = "swap 0.01 ETH to DAI and 0.01 ETH to USDC and 0.01 ETH to WBTC"
            sent = await _sending(pilot, text)
            await say(pilot, "how much DAI do I have?")
            await until(pilot, lambda: "Done" in sent.outcome, timeout=60)
            log = app.query_one(ChatLog)
            await until(pilot, lambda: "DAI" in str(list(log.query("Markdown"))[-1].source))
            record = app.service.journal.plan(sent.plan_id)
            assert record is not None and record.status == "done"
            txs = app.service.journal.txs(sent.plan_id)
            assert [t.status for t in txs] == ["confirmed"] * 3
        proxy.shutdown()

    asyncio.run(scenario())


def test_quitting_while_a_plan_is_sent_waits_for_it(make_app, devnet) -> None:
    """ctrl+q while the plan is sent quits once it is done; it cut the plan off, and the
    allowance it had reserved stayed used, with the plan journaled as never executed."""

    async def scenario() -> None:
        proxy = ChainProxy(devnet.url, delay=0.05)
        app = make_app(proxy.url)
        async with app.run_test(size=(100, 40)) as pilot:
            plan_id = (await _sending(pilot, "swap 0.01 ETH to DAI and 0.01 ETH to USDC")).plan_id
            await pilot.press("ctrl+q")
            await until(pilot, lambda: not app.is_running, timeout=60)
        record = app.service.journal.plan(plan_id)
        assert record is not None and record.status == "done"
        proxy.shutdown()

    asyncio.run(scenario())


def test_exit_typed_says_how_to_quit_and_slash_quit_quits(make_app) -> None:
    """ "exit" typed was answered "I don't understand 'exit'"; it now says how to quit, and
    /quit does, as ctrl+q does."""

    async def scenario() -> None:
        app = make_app()
        async with app.run_test(size=(100, 40)) as pilot:
            await say(pilot, "exit")
            await until(pilot, lambda: "To quit: **ctrl+q**, or **/quit**." in _said(app))
            assert "understand" not in _said(app)
            assert app.is_running
            await say(pilot, "/quit")
            await until(pilot, lambda: not app.is_running)

    asyncio.run(scenario())


def test_quitting_at_once_while_a_plan_is_sent_leaves_it_resumable(
    make_app, devnet, tmp_path
) -> None:
    """ctrl+q twice cuts the plan off where it stands. What was reserved for it is journaled
    with it: the reservation was taken in a worker thread and the journal never learned of it,
    so the allowance stayed used and `resume` said the plan had never been executed."""

    async def scenario() -> str:
        proxy = ChainProxy(devnet.url, delay=0.3)  # the grant's hop is slow: the quit lands in it
        app = make_app(proxy.url)
        async with app.run_test(size=(100, 40)) as pilot:
            plan_id = (await _sending(pilot, "swap 0.01 ETH to DAI and 0.01 ETH to USDC")).plan_id
            await pilot.press("ctrl+q", "ctrl+q")
        await asyncio.sleep(2)  # the worker thread's hop finishes on its own
        proxy.shutdown()
        return plan_id

    plan_id = asyncio.run(scenario())
    resumed = run_cli("resume", plan_id, data_dir=attach(devnet, tmp_path / "data"))
    assert resumed.returncode == 0, resumed.stderr
    with sqlite3.connect(tmp_path / "data" / DB_NAME) as db:
        assert db.execute("SELECT status FROM plans WHERE id = ?", (plan_id,)).fetchone() == (
            "done",
        )
        statuses = [r[0] for r in db.execute("SELECT status FROM reservations")]
    assert statuses.count("committed") == 2 and "reserved" not in statuses  # the rest released


def test_a_session_started_in_another_shell_shows_once_a_plan_is_decided(
    make_app, devnet, tmp_path
) -> None:
    """The plan is decided under the session in effect now; the sidebar showed the old one
    until the next block, which on an idle devnet never came."""

    async def scenario() -> None:
        app = make_app()
        async with app.run_test(size=(100, 40)) as pilot:
            await until(pilot, lambda: app.query_one(Sidebar).snapshot is not None)
            assert app.query_one(Sidebar).snapshot.session.name == "default"
            made = run_cli(
                "session", "new", "--policy", "dca-bot", data_dir=attach(devnet, tmp_path / "data")
            )
            assert made.returncode == 0, made.stderr
            await say(pilot, "swap 10 USDC for ETH")
            await until(pilot, lambda: app.pending is not None)
            await until(pilot, lambda: app.query_one(Sidebar).snapshot.session.name == "dca-bot")

    asyncio.run(scenario())


def test_text_that_looks_like_markup_is_shown_as_written(make_app, devnet) -> None:
    """`swap 1 [/bold] to usdc` closed the chat: its error toast was read as Rich markup."""

    async def scenario() -> None:
        app = make_app()
        async with app.run_test(size=(100, 40), notifications=True) as pilot:
            await say(pilot, "swap 1 [/bold] to usdc")
            await until(pilot, lambda: app.screen.query("Toast"))
            toast = str(app.screen.query_one("Toast").render())
            assert "[/bold]" in toast
            await say(pilot, "swap 0.1 ETH for USDC")  # the chat goes on
            await until(pilot, lambda: app.pending is not None)

    asyncio.run(scenario())


def test_plan_keys_on_a_closed_card_do_nothing(make_app, devnet) -> None:
    """shift+tab to an older, discarded card, then y: the newer card's plan was executed; and a
    closed card still showed the keys."""

    async def scenario() -> None:
        app = make_app()
        nonce = devnet.w3.eth.get_transaction_count(devnet.wallet)
        async with app.run_test(size=(100, 40), notifications=True) as pilot:
            await say(pilot, "swap 0.2 ETH for DAI")
            await until(pilot, lambda: app.pending is not None)
            first = card(app)
            await say(pilot, "swap 0.3 ETH for USDC")
            await until(pilot, lambda: app.pending is not None and card(app) is not first)
            first.focus()
            await pilot.press("y")
            await pilot.pause(0.3)
            assert app.pending == card(app).plan_id and not card(app).outcome
            assert "That plan is closed" in str(app.screen.query_one("Toast").render())
            assert first.outcome.startswith("Discarded")
            assert "y execute" not in _text(first) and "y execute" in _text(card(app))
        assert devnet.w3.eth.get_transaction_count(devnet.wallet) == nonce

    asyncio.run(scenario())


def test_a_question_leaves_the_card_open_and_yes_typed_answers_it(make_app, devnet) -> None:
    """A question threw the open card away; "yes" typed in the prompt was read as a request."""

    async def scenario() -> None:
        app = make_app()
        async with app.run_test(size=(100, 40)) as pilot:
            await say(pilot, "swap 0.1 ETH for USDC")
            await until(pilot, lambda: app.pending is not None)
            open_card = card(app)
            await say(pilot, "how much ETH do I have?")
            log = app.query_one(ChatLog)
            await until(pilot, lambda: "ETH" in str(list(log.query("Markdown"))[-1].source))
            assert app.pending == open_card.plan_id and not open_card.outcome
            await say(pilot, "what's the price of PEPE?")  # said in the log, not a notification
            await until(pilot, lambda: "unknown_token" in _said(app) and "'PEPE'" in _said(app))
            assert app.pending == open_card.plan_id and app.focused is open_card
            await say(pilot, "yes")
            await until(pilot, lambda: open_card.outcome.startswith("Done"), timeout=60)
            await say(pilot, "y")
            await until(pilot, lambda: "No plan is waiting" in _said(app))

    asyncio.run(scenario())


def test_requests_typed_while_one_is_planned_are_each_answered(make_app, devnet) -> None:
    """A question typed while a plan was worked out cancelled the plan without a word, and the
    journal kept it as planned for good. Now each is answered in turn; a plan overtaken by a
    newer request is closed, as one with an open card is."""

    async def scenario() -> None:
        proxy = ChainProxy(devnet.url, delay=0.03)
        app = make_app(proxy.url)
        async with app.run_test(size=(100, 40)) as pilot:
            await say(pilot, "swap 0.01 ETH for DAI")
            await say(pilot, "how much DAI do I have?")
            await say(pilot, "swap 0.02 ETH for USDC")
            await until(pilot, lambda: len(app.cards) == 2 and app.pending is not None, 60)
            first, second = app.cards.values()
            assert app.pending == second.plan_id
            await until(pilot, lambda: first.outcome.startswith("Discarded"))
            assert "50,000 DAI" in _said(app)
            journal = app.service.journal
            assert journal.plan(first.plan_id).status == "discarded"
        proxy.shutdown()

    asyncio.run(scenario())


def test_the_card_shows_the_least_a_swap_receives_before_signing(make_app, devnet) -> None:
    """The slippage bound was shown only in the lines of a sent plan."""

    async def scenario() -> None:
        app = make_app()
        async with app.run_test(size=(80, 40)) as pilot:
            await say(pilot, "swap 1 ETH for USDC with 0.3% slippage")
            await until(pilot, lambda: app.pending is not None)
            shown = " ".join(_text(card(app)).split())
            assert "step 1: swap 1 ETH for at least 2,9" in shown
            assert "(slippage bound 30 bps)" in shown
            amount = next(
                f"{v:,.6f}" for s, v in card(app).simulation.deltas.items() if s == "USDC"
            )
            assert amount.rstrip("0") in shown  # at 80 columns, not folded mid-number

    asyncio.run(scenario())


def _text(widget: PlanCard) -> str:
    """What the card shows, as text."""
    from rich.console import Console

    console = Console(width=76, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(widget.content)
    return console.export_text()


def _said(app) -> str:
    return "\n".join(str(m.source) for m in app.query_one(ChatLog).query("Markdown"))


def test_the_answer_to_the_agents_question_makes_the_plan(make_app, devnet) -> None:
    """ "How much ETH do you want to swap?" answered "0.1": "I don't understand '0.1'"."""

    async def scenario() -> None:
        app = make_app()
        async with app.run_test(size=(100, 40)) as pilot:
            await say(pilot, "swap eth to usdc")
            await until(pilot, lambda: "How much ETH do you want to swap?" in _said(app))
            assert "needs_clarification" not in _said(app)  # a question, not an error code (QA)
            await say(pilot, "0.1")
            await until(pilot, lambda: app.pending is not None)
            assert card(app).proposed.summary == "Swap 0.1 ETH for USDC on Uniswap V3"

    asyncio.run(scenario())


def test_up_on_a_card_brings_back_the_last_request(make_app, devnet) -> None:
    """The README lists up/down beside the plan keys; on a card they did nothing. Down past the
    last request brings back what was being typed."""

    async def scenario() -> None:
        app = make_app()
        async with app.run_test(size=(100, 40)) as pilot:
            await say(pilot, "swap 0.1 ETH for USDC")
            await until(pilot, lambda: app.pending is not None)
            assert isinstance(app.focused, PlanCard)
            await pilot.press("up")
            prompt = app.query_one(Prompt)
            assert prompt.has_focus and prompt.value == "swap 0.1 ETH for USDC"
            assert app.pending is not None  # the card is still open

            # QA: "x", up, down left the prompt empty; and escape did not take back a plan key
            await pilot.press("down")
            assert prompt.value == ""
            prompt.value = "x"
            await pilot.press("up", "down")
            assert prompt.value == "x"
            prompt.value = ""
            card(app).focus()
            _burst(app, ["y", "escape"])  # together: pressed apart, y can settle first
            await pilot.pause(0.5)
            assert app.pending is not None and not card(app).outcome

    asyncio.run(scenario())


def test_keys_a_card_reads_after_the_focus_left_it_are_still_typed(make_app, devnet) -> None:
    """QA, over tmux: keys the app handed to a card just before the focus moved to the prompt
    were dropped when the card read them ("make it half" and Enter sent "make it"; "buy 1 ETH
    with USDC", typed right after an answer, lost its b). They are text, in the order typed.
    And a plan key followed by a backspace is taken back."""

    async def scenario() -> None:
        app = make_app()
        async with app.run_test(size=(100, 40)) as pilot:
            await say(pilot, "swap 10 USDC to DAI")
            await until(pilot, lambda: app.pending is not None)
            first, prompt = card(app), app.query_one(Prompt)
            _burst(app, ["y", "backspace"])  # a plan key taken back answers nothing
            await pilot.pause(0.5)
            assert app.pending == first.plan_id and first.has_focus and not first.outcome
            await pilot.press(*"make it")
            assert prompt.has_focus and prompt.value == "make it"
            for key in [*" half", "enter"]:  # forwarded to the card before the focus moved
                name = {" ": "space"}.get(key, key)
                first.post_message(events.Key(name, "\r" if key == "enter" else key))
            await until(pilot, lambda: app.pending not in (None, first.plan_id))
            assert card(app).proposed.plan["steps"][0]["amount"] == "5"

            await pilot.press("n")
            await until(pilot, lambda: app.pending is None and prompt.has_focus)
            for key in "buy":
                card(app).post_message(events.Key(key, key))
            await pilot.press(*" 1")
            assert prompt.value == "buy 1"

    asyncio.run(scenario())


def _burst(app, keys: list[str]) -> None:
    """Keys arriving together, as over ssh or tmux: the app reads them all before any widget."""
    names = {" ": "space", "\r": "enter", "\x08": "backspace"}
    for key in keys:
        app.post_message(events.Key(names.get(key, key), key if len(key) == 1 else None))


def test_keys_in_the_prompt_act_in_the_order_typed(make_app, devnet) -> None:
    """QA: "...for DAI", Enter and "x" arriving together submitted "...for DAIx" (Textual runs the
    input's bindings after the characters that came with them); two pasted lines were one
    request; backspaces and home acted after the letters typed after them."""

    async def scenario() -> None:
        app = make_app()
        async with app.run_test(size=(100, 40)) as pilot:
            prompt = app.query_one(Prompt)
            _burst(app, [*"swap 0.01 ETH for DAI", "\r", *"x"])
            await until(pilot, lambda: app.pending is not None)
            assert card(app).proposed.intent == "swap 0.01 ETH for DAI"
            prompt.focus()
            await pilot.pause()
            prompt.value = "abc"
            prompt.cursor_position = 3
            _burst(app, ["\x08", "\x08", *"xy", "home", "Z"])
            await until(pilot, lambda: prompt.value == "Zaxy")

    asyncio.run(scenario())


def test_text_pasted_on_a_card_goes_to_the_prompt(make_app, devnet) -> None:
    """QA: a bracketed paste on a card was dropped. And a plan key, then up, took the request
    back with the plan key added to it ("...DAIy")."""

    async def scenario() -> None:
        app = make_app()
        async with app.run_test(size=(100, 40)) as pilot:
            await say(pilot, "swap 10 USDC to DAI")
            await until(pilot, lambda: app.pending is not None)
            first, prompt = card(app), app.query_one(Prompt)
            _burst(app, ["y", "up"])  # together: pressed apart, y can settle first
            await pilot.pause(0.5)
            assert prompt.value == "swap 10 USDC to DAI" and app.pending == first.plan_id
            prompt.value = ""
            first.focus()
            await pilot.pause()
            first.post_message(events.Paste("make it half\nignored"))
            await until(pilot, lambda: prompt.value == "make it half" and prompt.has_focus)
            assert app.pending == first.plan_id

    asyncio.run(scenario())


def test_editing_a_follow_up_and_sending_it_unchanged_gives_the_same_plan(make_app, devnet) -> None:
    """QA: "half" of a 0.1 ETH swap gave 0.05; e, then Enter, gave 0.025 (it halved the plan
    being edited). The plan edited leaves the conversation."""

    async def scenario() -> None:
        app = make_app()
        async with app.run_test(size=(100, 40)) as pilot:
            await say(pilot, "swap 0.1 ETH for USDC")
            await until(pilot, lambda: app.pending is not None)
            await say(pilot, "half")
            await until(pilot, lambda: card(app).proposed.intent == "half" and app.pending)
            card(app).focus()
            await pilot.press("e")
            prompt = app.query_one(Prompt)
            await until(pilot, lambda: prompt.value == "half" and app.pending is None)
            edited = card(app)
            assert edited.outcome == "Back in the prompt to edit: nothing sent", edited.outcome
            await pilot.press("enter")
            await until(pilot, lambda: app.pending is not None and card(app) is not edited)
            assert card(app).proposed.plan["steps"][0]["amount"] == "0.05"

    asyncio.run(scenario())


def test_yes_typed_after_a_request_answers_that_requests_plan(make_app, devnet) -> None:
    """QA: with a plan open, "swap 0.02 ETH for USDC", Enter, "yes", Enter, arriving together,
    executed the open plan the new request was replacing; the send and the planning then shared
    the journal ("cannot start a transaction within a transaction")."""

    async def scenario() -> None:
        app = make_app()
        async with app.run_test(size=(100, 40)) as pilot:
            await say(pilot, "swap 0.01 ETH for DAI")
            await until(pilot, lambda: app.pending is not None)
            first = card(app)
            _burst(app, [*"swap 0.02 ETH for USDC", "\r", *"yes", "\r"])
            await until(pilot, lambda: card(app) is not first and card(app).outcome, 60)
            assert card(app).outcome.startswith("Done"), card(app).outcome
            assert card(app).proposed.intent == "swap 0.02 ETH for USDC"
            assert first.outcome.startswith("Discarded"), first.outcome
            statuses = {p.id: p.status for p in app.service.journal.plans(10)}
            assert statuses[first.plan_id] == "discarded"

    asyncio.run(scenario())


def test_a_question_right_after_a_plan_leaves_it_open_and_e_brings_back_its_request(
    make_app, devnet
) -> None:
    """QA: a question sent right behind a request closed the plan once decided (anything
    waiting did); e then put the question in the prompt, not the plan's request. And after a
    Tab onto the chat log, typing was lost; after shift+tab up the log, new cards were out of
    view."""

    async def scenario() -> None:
        app = make_app()
        async with app.run_test(size=(100, 30)) as pilot:
            for n in range(3):
                await say(pilot, f"swap 0.0{n + 1} ETH for DAI")
                await until(pilot, lambda n=n: len(app.cards) == n + 1 and app.pending, 60)
            log, prompt = app.query_one(ChatLog), app.query_one(Prompt)
            next(iter(app.cards.values())).focus()  # shift+tab up the log
            await pilot.pause()
            _burst(app, [*"swap 0.04 ETH for DAI", "\r", *"how much DAI do I have?", "\r"])
            await until(pilot, lambda: "You have" in _said(app) and len(app.cards) == 4, 60)
            opened = card(app)
            await until(pilot, lambda: opened.has_focus and app.pending == opened.plan_id)
            assert log.region.contains_region(opened.region), (log.region, opened.region)
            await pilot.press("e")
            await until(pilot, lambda: prompt.value == "swap 0.04 ETH for DAI")
            prompt.value = ""
            prompt.focus()
            await pilot.pause()
            await pilot.press("tab", *"abc")
            await until(pilot, lambda: prompt.value == "abc")

    asyncio.run(scenario())


def test_yes_typed_behind_a_request_that_made_no_plan_answers_nothing(make_app, devnet) -> None:
    """QA: with a 0.04 ETH swap open, "swap 1000 ETH for USDC", Enter, "yes", Enter, typed
    together: the request failed (not that much ETH) and the yes executed the older plan."""

    async def scenario() -> None:
        app = make_app()
        async with app.run_test(size=(100, 40)) as pilot:
            await say(pilot, "swap 0.04 ETH for USDC")
            await until(pilot, lambda: app.pending is not None)
            first = card(app)
            _burst(app, [*"swap 1000 ETH for USDC", "\r", *"yes", "\r"])
            await until(pilot, lambda: "answers nothing" in _said(app), 60)
            assert app.pending == first.plan_id and not first.outcome
            assert app.service.journal.plan(first.plan_id).status != "done"
            await until(pilot, lambda: first.has_focus)
            await say(pilot, "yes")  # typed once the failure was read: it answers the open plan
            await until(pilot, lambda: first.outcome.startswith("Done"), 60)

    asyncio.run(scenario())


def test_quitting_behind_a_queued_yes_sends_nothing(make_app, devnet) -> None:
    """ctrl+q while a request is planned, a "yes" queued behind it: nothing is sent. (QA's
    ctrl+q 50 ms after the "yes" came once the swap was sent: planned in 17 ms, sent in 40.)"""

    async def scenario() -> DefiAgentApp:
        proxy = ChainProxy(devnet.url, delay=0.05)
        app = make_app(proxy.url)
        async with app.run_test(size=(100, 40)) as pilot:
            _burst(app, [*"swap 0.13 ETH for USDC", "\r", *"yes", "\r"])
            await until(pilot, lambda: app.busy.label.startswith("planning"))
            await pilot.press("ctrl+q")
            await until(pilot, lambda: not app.is_running, timeout=60)
        await asyncio.sleep(3)  # the worker thread's chain work finishes on its own
        proxy.shutdown()
        return app

    app = asyncio.run(scenario())
    assert all(p.status != "done" for p in app.service.journal.plans(10))
    assert not any(app.service.journal.txs(p.id) for p in app.service.journal.plans(10))


def test_tab_from_the_prompt_goes_to_the_open_plan(make_app, devnet) -> None:
    """QA: Tab from the prompt went to the oldest card, at the top of the log."""

    async def scenario() -> None:
        app = make_app()
        async with app.run_test(size=(100, 30)) as pilot:
            for n in range(3):
                await say(pilot, f"swap 0.0{n + 1} ETH for DAI")
                await until(pilot, lambda n=n: len(app.cards) == n + 1 and app.pending, 60)
            app.query_one(Prompt).focus()
            await pilot.press("tab")
            assert card(app).has_focus and card(app).plan_id == app.pending

    asyncio.run(scenario())


def test_answers_follow_their_requests_in_the_chat(make_app, devnet) -> None:
    """QA: requests typed together were all listed first, then all the answers below them."""

    async def scenario() -> None:
        app = make_app()
        async with app.run_test(size=(100, 40)) as pilot:
            _burst(app, [*"swap 0.01 ETH for DAI", "\r", *"how much DAI do I have?", "\r"])
            await until(pilot, lambda: app.pending is not None and "You have" in _said(app), 60)
            shown = list(app.query_one(ChatLog).children)[1:]  # after the welcome
            kinds = [type(w).__name__ for w in shown]
            assert kinds == ["Static", "PlanCard", "Static", "Markdown"], kinds

    asyncio.run(scenario())


def test_answers_in_words_act_on_the_open_plan(make_app, devnet) -> None:
    """QA: "yes please" and "ok" were read as requests: "I don't understand 'yes'"."""

    async def scenario() -> None:
        app = make_app()
        async with app.run_test(size=(100, 40)) as pilot:
            await say(pilot, "swap 0.01 ETH for DAI")
            await until(pilot, lambda: app.pending is not None)
            first = card(app)
            await say(pilot, "dry run")
            await until(pilot, lambda: first.rehearsal.startswith("Dry run 1 "))
            await say(pilot, "swap 0.02 ETH for DAI")
            await until(pilot, lambda: app.pending is not None and card(app) is not first)
            await say(pilot, "Go ahead!")
            await until(pilot, lambda: card(app).outcome.startswith("Done"), 60)
            await say(pilot, "ok")
            await until(pilot, lambda: "No plan is waiting" in _said(app))

    asyncio.run(scenario())


def test_a_dry_run_leaves_the_plan_open_for_yes(make_app, devnet) -> None:
    """QA: d closed the plan ("Dry run: nothing sent") and the y after it found no plan. A dry
    run simulates the plan again at the chain's state now, sends nothing, and the card still
    takes y; "dry run" then "yes" typed together answer in turn."""

    async def scenario() -> None:
        app = make_app()
        async with app.run_test(size=(100, 40)) as pilot:
            await say(pilot, "swap 0.01 ETH for DAI")
            await until(pilot, lambda: app.pending is not None)
            first = card(app)
            nonce = devnet.w3.eth.get_transaction_count(devnet.wallet)
            await pilot.press("d")
            said = "Dry run 1 on the chain as it is now, nothing sent; the policy allows it now: +"
            await until(pilot, lambda: first.rehearsal.startswith(said))
            assert "DAI" in first.rehearsal, first.rehearsal
            assert devnet.w3.eth.get_transaction_count(devnet.wallet) == nonce
            assert app.pending == first.plan_id and app.focused is first
            assert "y execute" in _text(first)
            _burst(app, [*"dry run", "\r", *"yes", "\r"])
            await until(pilot, lambda: first.outcome.startswith("Done"), 60)
            assert devnet.w3.eth.get_transaction_count(devnet.wallet) == nonce + 1
            shown = " ".join(_text(first).split())  # the second dry run, still on the card
            assert "Dry run 2 on the chain as it is now" in shown, shown

    asyncio.run(scenario())


def test_escape_in_an_empty_prompt_gives_the_keys_back_to_the_card(make_app, devnet) -> None:
    """QA: after "dd" typed on a card and cleared, d was text and only Tab brought the keys
    back. escape does, in an empty prompt only (with text in it, it takes nothing away)."""

    async def scenario() -> None:
        app = make_app()
        async with app.run_test(size=(100, 40)) as pilot:
            await say(pilot, "swap 0.01 ETH for DAI")
            await until(pilot, lambda: app.pending is not None)
            open_card, prompt = card(app), app.query_one(Prompt)
            await pilot.press(*"dd")
            assert app.focused is prompt and prompt.value == "dd"
            await pilot.press("escape")
            assert app.focused is prompt and prompt.value == "dd"
            await pilot.press("backspace", "backspace", "escape", "d")
            await until(pilot, lambda: open_card.rehearsal.startswith("Dry run 1 "))
            assert prompt.value == "" and app.pending == open_card.plan_id

    asyncio.run(scenario())


def test_a_narrow_terminal_gives_the_sidebar_width_to_the_chat(make_app, devnet) -> None:
    """QA: at 70 columns the sidebar kept its 32 and a plan card lost its step column; a revert
    reason in the table squeezed the steps out of sight at any width."""

    async def scenario() -> None:
        app = make_app()
        async with app.run_test(size=(70, 30)) as pilot:
            await say(pilot, "borrow 100 DAI from aave")  # nothing supplied: it reverts
            await until(pilot, lambda: any(c.outcome for c in app.cards.values()))
            assert not app.query_one(Sidebar).display
            (shown,) = app.cards.values()
            assert shown.size.width > 60
            text = _text(shown)
            assert "borrow 100 DAI (Aave)" in text and "step 1 reverts: " in text, text
            await pilot.resize_terminal(100, 30)
            await until(pilot, lambda: app.query_one(Sidebar).display)

    asyncio.run(scenario())


def test_try_again_after_a_plan_outlived_its_deadline(make_app, devnet) -> None:
    """QA: a card answered after `/warp 1h` failed on its swap's passed deadline, nothing sent,
    and said "propose it again"; "try again" was not understood. Now it makes the plan again,
    with a fresh deadline, and that one executes."""

    async def scenario() -> None:
        app = make_app()
        async with app.run_test(size=(100, 40)) as pilot:
            await say(pilot, "swap 0.1 ETH for USDC")
            await until(pilot, lambda: app.pending is not None)
            first = card(app)
            await say(pilot, "/warp 1h")
            await until(pilot, lambda: "Moved the chain's clock forward by 1h" in _said(app))
            first.focus()
            await pilot.press("y")
            await until(pilot, lambda: first.outcome.startswith("Failed"))
            assert '"try again" in the chat' in first.outcome, first.outcome

            await say(pilot, "try again")
            await until(pilot, lambda: app.pending not in (None, first.plan_id))
            again = card(app)
            assert again.proposed.plan["steps"] == first.proposed.plan["steps"]
            assert "The last plan was executed" not in _said(app)
            await pilot.press("y")
            await until(pilot, lambda: again.outcome.startswith("Done"), timeout=60)

    asyncio.run(scenario())


def test_try_again_after_an_executed_plan_says_it_went_through(make_app, devnet) -> None:
    """QA: "try again" after a plan was executed made it again without a word: it read as a
    retry of something that had failed. The chat says the last plan was executed and this one
    would do it once more; after a plan discarded (or one that failed, in the deadline test) it
    says nothing of the kind."""

    async def scenario() -> None:
        app = make_app()
        async with app.run_test(size=(100, 40)) as pilot:
            await say(pilot, "swap 0.1 ETH for USDC")
            await until(pilot, lambda: app.pending is not None)
            first = card(app)
            await pilot.press("y")
            await until(pilot, lambda: first.outcome.startswith("Done"))
            await say(pilot, "try again")
            await until(pilot, lambda: app.pending not in (None, first.plan_id))
            assert "The last plan was executed: this plans it once more" in _said(app)
            assert card(app).proposed.plan["steps"] == first.proposed.plan["steps"]
            await pilot.press("n")
            await until(pilot, lambda: card(app).outcome.startswith("Discarded"))
            await say(pilot, "retry")
            await until(pilot, lambda: app.pending is not None)
            assert _said(app).count("The last plan was executed") == 1

    asyncio.run(scenario())


def test_a_done_card_says_what_went_to_aave(make_app, devnet) -> None:
    """QA: "Done, verified on chain: -0.000449 ETH, -0.05 WBTC" for a swap then supply: the
    USDC supplied was nowhere, as if it had vanished. A dry run says it too."""

    async def scenario() -> None:
        app = make_app()
        async with app.run_test(size=(100, 40)) as pilot:
            await say(pilot, "swap 0.1 ETH to USDC then supply it to aave")
            await until(pilot, lambda: app.pending is not None)
            shown = card(app)
            await pilot.press("d")
            await until(pilot, lambda: shown.rehearsal != "")
            assert "USDC supplied" in shown.rehearsal, shown.rehearsal
            await pilot.press("y")
            await until(pilot, lambda: shown.outcome.startswith("Done"), timeout=60)
            said = shown.outcome.split("; on Aave: ")[1].split(" USDC supplied")[0]
            (position,) = account(devnet.w3, devnet.book, devnet.wallet).positions
            assert abs(Decimal(said.replace(",", "")) - position.supplied) < Decimal("0.01")

    asyncio.run(scenario())


def test_a_very_long_request_is_shown_cut_and_refused(make_app, devnet) -> None:
    """QA: about 3,000 characters pasted were echoed whole, filling the log, before "that request
    is too long"."""

    async def scenario() -> None:
        app = make_app()
        async with app.run_test(size=(100, 40)) as pilot:
            await say(pilot, "swap 1 ETH for USDC " * 150)
            await until(
                pilot,
                lambda: "that request is too long (2,999 characters, at most 500)" in _said(app),
            )
            (echo,) = app.query_one(ChatLog).query(".user")
            assert len(str(echo.render())) < 400 and "(2,999 characters)" in str(echo.render())

    asyncio.run(scenario())


def test_a_sidebar_refresh_finishing_as_the_app_closes_does_not_crash_it(make_app, devnet) -> None:
    """CI, on a loaded machine: a sidebar refresh that finished after the app began closing
    found no Sidebar (NoMatches) and failed the run. Its widgets gone, a refresh is a no-op."""

    async def scenario() -> None:
        app = make_app()
        async with app.run_test(size=(100, 40)) as pilot:
            await until(pilot, lambda: app.query_one(Sidebar).snapshot is not None)
            await app.query_one(Sidebar).remove()
            app.refresh_sidebar()
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert app.is_running and not app.query(Sidebar)

    asyncio.run(scenario())
