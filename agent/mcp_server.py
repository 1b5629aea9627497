"""The agent as an MCP server (stdio): an assistant reads the wallet and markets, plans, simulates,
and, only when the server was started with execution enabled, executes what it simulated, within the
session's policy. Every guard of the CLI stays in place: the same core service, the same policy
engine in front of the same single signer.

Errors come back as MCP tool errors whose text is the CLI's JSON error object
(``{"error": {"code": ..., "message": ...}}``), with the same codes.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, fields
from decimal import Decimal
from typing import Annotated, Any

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError, UnexpectedToolError
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage
from mcp_types import CallToolResult, TextContent
from mcp_types.jsonrpc import INVALID_REQUEST, PARSE_ERROR, ErrorData, JSONRPCError
from pydantic import Field, ValidationError

from agent.answers import looks_like_question
from agent.errors import BadInput, DefiAgentError, IntentError, PolicyDenied
from agent.events import (
    PolicyDecision,
    RunDone,
    RunFailed,
    SimulationDone,
    TxConfirmed,
    TxSent,
)
from agent.intents.summary import risk_of, summarise
from agent.service import AgentService
from strategies.amounts import parse_amount
from strategies.plan import StrategyPlan, plan_schema
from strategies.tokens import resolve_symbol
from tools.aave_v3.reads import reserves
from tools.erc20.reads import token
from tools.jsonable import plain
from tools.portfolio import read_portfolio
from tools.uniswap_v3.quote import best_quote

INSTRUCTIONS = """\
defi-agent: DeFi on a local anvil chain (or a fork) with Uniswap V3 and Aave V3.
Read with portfolio, quote, markets, session and journal. To act: `plan` a request (plain words, or a
typed plan following the defi-agent://plan-schema resource), `simulate` the plan id to see balance
changes, gas, health factor and the policy's verdict, then `execute` the same plan id. Nothing is
signed that the session's policy does not allow; amounts are token units, never base units."""


_WRITTEN_FROM_STEPS = {"intent": "", "summary": "", "risk": "low"}
"""What a typed plan from a client may leave out: the server writes them from its steps (what a
client says its plan does is not what it does), so a client need not make them up."""
_LONGEST_AMOUNT = 80
"""More characters than any amount a token can hold (78 digits for 2**256) and a point."""


def _echo(text: str) -> str:
    """``text`` as an error repeats it: whole when short, else its start and its length (QA: a
    bad amount of thousands of digits came back in full)."""
    if len(text) <= 40:
        return repr(text)
    return f"{text[:40]!r}… ({len(text):,} characters)"


def _error(error: DefiAgentError) -> CallToolResult:
    """A tool error whose text is exactly the CLI's JSON error object."""
    body = json.dumps(error.to_json())
    return CallToolResult(content=[TextContent(type="text", text=body)], is_error=True)


class AgentTools:
    """The tools, on one core service; plans are kept by id between `plan`, `simulate` and
    `execute` for as long as the server runs."""

    def __init__(self, service: AgentService, *, allow_execute: bool) -> None:
        self.svc = service
        self.allow_execute = allow_execute
        self.drafts: dict[str, tuple[str, dict[str, Any]]] = {}
        self.simulated: dict[str, str] = {}
        """Draft id -> the journal's plan id of its simulation, authorised and ready to send."""
        self.executed: dict[str, str] = {}
        """Draft id -> the journal's plan id of its execution, once something of it was sent: a
        draft is executed at most once (an assistant retrying after a lost reply must not send
        it twice)."""
        self.refused: dict[str, DefiAgentError] = {}
        """Draft id -> the policy's refusal of its last simulation or execution: what `execute`
        says again (simulating it again gives the same verdict while nothing changed)."""
        self.busy: set[str] = set()
        """Drafts being simulated or executed: one call at a time per draft."""

    async def portfolio(self) -> dict[str, Any]:
        ctx = await asyncio.to_thread(self.svc.chain_context)
        found = await asyncio.to_thread(read_portfolio, ctx.w3, ctx.book, ctx.wallet)
        return found.to_json()

    async def quote(self, token_in: str, token_out: str, amount: str, exact_out: bool) -> dict:
        ctx = await asyncio.to_thread(self.svc.chain_context)
        symbols = []
        for word in (token_in, token_out):
            symbol = resolve_symbol(word, ctx.book.symbols)
            if symbol is None:
                known = ", ".join(ctx.book.symbols)
                raise IntentError(
                    "unknown_token", f"unknown token {_echo(word)}", hint=f"known: {known}"
                )
            symbols.append(symbol)
        if symbols[0] == symbols[1]:
            raise IntentError("invalid_amount", f"cannot swap {symbols[0]} into itself")
        if set(symbols) == {"ETH", "WETH"}:
            raise IntentError(
                "unsupported",
                "ETH reaches Uniswap V3 as WETH: there is no ETH-WETH swap; wrap or unwrap instead",
            )
        a, b = (token(ctx.w3, ctx.book, "WETH" if s == "ETH" else s) for s in symbols)
        if len(amount) > _LONGEST_AMOUNT:
            raise IntentError("invalid_amount", f"{_echo(amount)} is not a plausible amount")
        try:
            units = parse_amount(amount).value
        except ValueError as error:
            raise IntentError("invalid_amount", str(error)) from None
        if units is None:
            raise IntentError("invalid_amount", "a quote needs an amount in token units")
        kind = "exact_out" if exact_out else "exact_in"
        counted = b if exact_out else a
        raw = counted.to_raw(units)
        if raw <= 0 or not counted.holds_exactly(units):
            raise IntentError(
                "invalid_amount",
                f"{amount} {symbols[1 if exact_out else 0]} is finer than the token's "
                f"{counted.decimals} decimals",
            )
        found = await asyncio.to_thread(best_quote, ctx.w3, ctx.book, a, b, kind, raw)
        return {
            "token_in": symbols[0],
            "token_out": symbols[1],
            "amount_in": plain(a.to_units(found.amount_in)),
            "amount_out": plain(b.to_units(found.amount_out)),
            "route": found.route.describe(),
            "price_impact_bps": plain(found.price_impact_bps.quantize(Decimal("0.01"))),
            "gas_estimate": found.gas_estimate,
        }

    async def markets(self) -> list[dict[str, Any]]:
        ctx = await asyncio.to_thread(self.svc.chain_context)
        found = await asyncio.to_thread(reserves, ctx.w3, ctx.book)
        return [plain(asdict(r)) for r in found]

    async def session(self) -> dict[str, Any]:
        status = await asyncio.to_thread(self.svc.authorizer.status)
        body = {
            f.name: plain(getattr(status, f.name)) for f in fields(status) if f.name != "parsed"
        }
        for limit in ("max_usd_per_tx", "min_health_factor"):  # read from the policy
            body[limit] = plain(getattr(status, limit))
        body["state"] = status.state
        body["windows"] = [
            {
                "window": w.label,
                **({} if w.token is None else {"token": w.token}),
                **{
                    f"{what}_{'usd' if w.token is None else 'amount'}": plain(value)
                    for what, value in (
                        ("used", w.used),
                        ("limit", w.limit),
                        ("left", max(w.limit - w.used, 0)),
                    )
                },
            }
            for w in status.windows
        ]
        return body

    async def journal(self, limit: int) -> list[dict[str, Any]]:
        return [
            {"id": p.id, "intent": p.intent, "status": p.status, "error": p.error}
            for p in self.svc.journal.plans(limit)
        ]

    async def plan(self, text: str | None, plan: dict[str, Any] | None) -> dict[str, Any]:
        if text is None and plan is None:
            raise BadInput("give text (plain words) or plan (a typed plan)")
        if text is not None and plan is not None:
            raise BadInput("give either text (plain words) or plan (a typed plan), not both")
        if plan is not None:
            try:
                typed = StrategyPlan.model_validate({**_WRITTEN_FROM_STEPS, **plan}).to_json()
            except ValidationError as error:
                first = error.errors()[0]
                field = ".".join(str(p) for p in first["loc"]) or "plan"
                message = str(first["msg"]).removeprefix("Value error, ")
                raise BadInput(f"invalid plan: {field}: {message}", code="invalid_plan") from None
            self._ground(typed)
            # What the client wrote of its plan is not what it does ("check my balance" was
            # journaled for a swap): the summary, risk and journal's intent are the steps'.
            summary = summarise(typed["steps"])
            parsed = {**typed, "summary": summary, "risk": risk_of(typed["steps"])}
            text = f"typed plan: {summary}"
        else:
            assert text is not None
            try:
                parsed = await asyncio.to_thread(self.svc.planner.plan, text)
            except IntentError as error:
                if not looks_like_question(text):
                    raise
                raise IntentError(
                    error.code,
                    f"{error.message}; a question is answered by the portfolio, quote, markets "
                    "and session tools",
                ) from None
        plan_id = uuid.uuid4().hex[:12]
        self.drafts[plan_id] = (text, parsed)
        return {"plan_id": plan_id, **parsed}

    def _ground(self, plan: dict[str, Any]) -> None:
        """A typed plan may only name tokens of the active address book."""
        known = self.svc.chain_context().book.symbols
        for n, step in enumerate(plan["steps"], start=1):
            for field in ("token", "token_in", "token_out"):
                if field in step and step[field] not in known:
                    raise IntentError(
                        "unknown_token",
                        f"step {n}: {step[field]!r} is not a token of this chain",
                        hint=f"known: {', '.join(known)}",
                    )

    def _refuse_executed(self, plan_id: str) -> None:
        if plan_id in self.executed:
            raise BadInput(
                f"plan {plan_id} was executed (journal {self.executed[plan_id]})",
                code="already_executed",
                hint="call plan again to do it again",
            )

    @contextmanager
    def _one_at_a_time(self, plan_id: str) -> Iterator[None]:
        if plan_id in self.busy:
            raise BadInput(
                f"plan {plan_id} is being simulated or executed",
                code="plan_busy",
                hint="wait for that call's answer",
            )
        self.busy.add(plan_id)
        try:
            yield
        finally:
            self.busy.discard(plan_id)

    async def simulate(self, plan_id: str) -> dict[str, Any]:
        with self._one_at_a_time(plan_id):
            return await self._simulate(plan_id)

    async def execute(self, plan_id: str) -> dict[str, Any]:
        with self._one_at_a_time(plan_id):
            return await self._execute(plan_id)

    async def _simulate(self, plan_id: str) -> dict[str, Any]:
        draft = self.drafts.get(plan_id)
        self._refuse_executed(plan_id)
        if draft is None:
            raise BadInput(f"no plan {plan_id}", code="unknown_plan", hint="call plan first")
        stale = self.simulated.pop(plan_id, None)
        if stale is not None:
            self.svc.discard(stale)
        self.refused.pop(plan_id, None)
        report: dict[str, Any] = {"plan_id": plan_id}
        async for event in self.svc.propose(*draft):
            if isinstance(event, SimulationDone):
                report["block"] = event.block
                report["steps"] = [
                    {
                        "step": s.step,
                        "description": s.description,
                        "balance_changes": plain(s.deltas),
                        "gas": s.gas,
                        "health_factor_after": plain(s.health_factor_after),
                        "reverts": next((c.revert_reason for c in s.calls if not c.ok), None),
                    }
                    for s in event.steps
                ]
            elif isinstance(event, PolicyDecision):
                report["journal_id"] = event.plan_id
                report["policy"] = {
                    "allowed": event.allowed,
                    "session": event.session,
                    "verdicts": [asdict(v) for v in event.verdicts],
                    "needs_confirmation": event.needs_confirmation,
                }
                if event.allowed:
                    self.simulated[plan_id] = event.plan_id
            elif isinstance(event, RunFailed):
                if event.exit_code != PolicyDenied.exit_code:
                    raise DefiAgentError(event.message, code=event.code)
                report["error"] = {"code": event.code, "message": event.message}
                self.refused[plan_id] = PolicyDenied(event.message, code=event.code)
        return report

    async def _execute(self, plan_id: str) -> dict[str, Any]:
        if not self.allow_execute:
            raise PolicyDenied(
                "execution is disabled on this server",
                code="execution_disabled",
                hint="start it with `defi-agent mcp --allow-execute` to let it execute plans",
            )
        self._refuse_executed(plan_id)
        ready = self.simulated.pop(plan_id, None)
        if ready is None and plan_id in self.refused:
            raise self.refused[plan_id]
        if ready is None:
            raise BadInput(
                f"plan {plan_id} has no allowed simulation to execute",
                code="not_simulated",
                hint="call simulate first; only a simulated plan the policy allows can execute",
            )
        sent: list[dict[str, Any]] = []
        async for event in self.svc.execute(ready, human_confirmed=False):
            if isinstance(event, TxSent):
                self.executed[plan_id] = ready
                sent.append({"label": event.label, "tx_hash": event.tx_hash})
            elif isinstance(event, TxConfirmed):
                sent[-1]["success"] = event.success
            elif isinstance(event, RunFailed):
                if not sent and event.exit_code == PolicyDenied.exit_code:
                    self.refused[plan_id] = PolicyDenied(event.message, code=event.code)
                    raise self.refused[plan_id]
                done = "; sent before it stopped: " + ", ".join(
                    f"{t['label']} ({t['tx_hash']})" for t in sent
                )
                raise DefiAgentError(event.message + (done if sent else ""), code=event.code)
            elif isinstance(event, RunDone):
                return {
                    "plan_id": plan_id,
                    "journal_id": ready,
                    "status": event.status,
                    "transactions": sent,
                    "balance_changes": plain(event.deltas),
                    "differs_from_simulation": list(event.mismatches),
                }
        raise BadInput(f"plan {plan_id} ended without an outcome")


class _Server(MCPServer):
    """Arguments that do not fit a tool's schema, and an unknown tool, get the JSON error every
    other error gets (the SDK answers with a pydantic dump, or "Unknown tool")."""

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        try:
            return await super().call_tool(name, arguments, context)
        except UnexpectedToolError:
            raise
        except ToolError as error:
            cause = error.__cause__
            if isinstance(cause, ValidationError):
                first = cause.errors()[0]
                field = ".".join(str(p) for p in first["loc"]) or "arguments"
                return _error(BadInput(f"{name}: {field}: {first['msg']}"))
            names = sorted(t.name for t in await self.list_tools())
            if name not in names:
                return _error(BadInput(f"no tool {name!r}", hint=f"tools: {', '.join(names)}"))
            raise


def build_server(tools: AgentTools) -> MCPServer:
    server = _Server("defi-agent", instructions=INSTRUCTIONS)

    async def guarded(call: Any) -> Any:
        """The tool's result; a `DefiAgentError` becomes an MCP tool error (the server stays up)."""
        try:
            return await call
        except DefiAgentError as error:
            return _error(error)

    @server.tool()
    async def portfolio() -> dict[str, Any]:
        """The wallet's balances with USD values, Aave positions and health factor."""
        return await guarded(tools.portfolio())

    @server.tool()
    async def quote(
        token_in: str, token_out: str, amount: str, exact_out: bool = False
    ) -> dict[str, Any]:
        """Best Uniswap V3 quote. amount is in token units of token_in (of token_out when
        exact_out is true)."""
        return await guarded(tools.quote(token_in, token_out, amount, exact_out))

    @server.tool()
    async def markets() -> list[dict[str, Any]]:
        """Aave V3's markets: supply and borrow APY (fractions), utilisation, totals."""
        return await guarded(tools.markets())

    @server.tool()
    async def session() -> dict[str, Any]:
        """The session in effect: its state (active, expired, revoked; "not started" before the
        first plan is executed), policy, expiry, and spend used against each limit."""
        return await guarded(tools.session())

    @server.tool()
    async def journal(limit: Annotated[int, Field(ge=1, le=1000)] = 10) -> list[dict[str, Any]]:
        """The most recent plans and their outcome, newest first."""
        return await guarded(tools.journal(limit))

    @server.tool()
    async def plan(text: str | None = None, plan: dict[str, Any] | None = None) -> dict[str, Any]:
        """Turn a request into a typed plan: give text (plain words, e.g. "swap 1 ETH for USDC")
        or plan (a typed plan per the defi-agent://plan-schema resource; its intent, summary and
        risk may be left out, as they are written from its steps). Nothing is simulated or sent;
        returns the plan and its plan_id."""
        return await guarded(tools.plan(text, plan))

    @server.tool()
    async def simulate(plan_id: str) -> dict[str, Any]:
        """Simulate a planned plan on a copy of the chain and ask the session's policy: balance
        changes, gas and health factor per step, and every rule's verdict."""
        return await guarded(tools.simulate(plan_id))

    @server.tool()
    async def execute(plan_id: str) -> dict[str, Any]:
        """Sign and send exactly what `simulate` showed for this plan_id, if the policy allowed
        it and the server runs with --allow-execute; returns the verified balance changes."""
        return await guarded(tools.execute(plan_id))

    @server.resource("defi-agent://plan-schema", mime_type="application/json")
    def schema() -> str:
        """The JSON Schema of a typed plan, for the `plan` tool's plan argument."""
        return json.dumps(plan_schema())

    @server.resource("defi-agent://tokens", mime_type="application/json")
    def tokens() -> str:
        """The tokens and protocols of the active chain, with their addresses."""
        try:
            book = tools.svc.chain_context().book
        except DefiAgentError as error:  # the reason, not the SDK's "Error reading resource"
            raise ResourceError(error.one_line()) from None
        return json.dumps(
            {
                "chain_id": book.chain_id,
                "tokens": {"ETH": "native", **book.tokens},
                "protocols": {
                    "uniswap-v3": book.uniswap_v3.model_dump(),
                    "aave-v3": book.aave_v3.model_dump(),
                },
            }
        )

    return server


async def serve_stdio(server: MCPServer) -> None:
    """`MCPServer.run_stdio_async`, but a line that is not a JSON-RPC message is answered with
    JSON-RPC 2.0's error for it (id null, as the id cannot be read): the SDK drops the line, and
    a client waits for an answer that never comes (QA)."""
    lowlevel = server._lowlevel_server  # what run_stdio_async serves
    async with stdio_server() as (read_stream, write_stream):
        send, sifted = anyio.create_memory_object_stream[SessionMessage | Exception](0)

        async def sift() -> None:
            async with send:
                async for item in read_stream:
                    if isinstance(item, Exception):
                        await write_stream.send(SessionMessage(_rejection(item)))
                    else:
                        await send.send(item)

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(sift)
            await lowlevel.run(sifted, write_stream, lowlevel.create_initialization_options())
            tasks.cancel_scope.cancel()


def _rejection(error: Exception) -> JSONRPCError:
    """JSON-RPC's parse error for a line that is not JSON; its invalid request for JSON that is
    not a JSON-RPC 2.0 message."""
    not_json = isinstance(error, ValidationError) and any(
        e["type"] == "json_invalid" for e in error.errors()
    )
    data = (
        ErrorData(code=PARSE_ERROR, message="Parse error: the line is not JSON")
        if not_json
        else ErrorData(code=INVALID_REQUEST, message="Invalid Request: not a JSON-RPC 2.0 message")
    )
    return JSONRPCError(jsonrpc="2.0", id=None, error=data)
