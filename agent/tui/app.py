"""The chat app: composes the widgets and routes the core service's events to them.

Every service call runs in a worker; widgets only display. `create_app` is the one factory the
`defi-agent chat` command and the tests share, so tests drive exactly the app users run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import ClassVar

from textual import events, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Footer
from textual.worker import Worker, WorkerState

from agent.errors import DefiAgentError
from agent.events import (
    Event,
    PlanProposed,
    PolicyDecision,
    RunDone,
    RunFailed,
    SimulationDone,
    StepSimulated,
    TxConfirmed,
    TxSent,
)
from agent.intents.planner import asks_again
from agent.service import AgentService
from agent.tui.busy import Busy
from agent.tui.chat import ChatLog
from agent.tui.commands import QUIT_WORDS, Command, UnknownCommand, parse_command
from agent.tui.help import HelpScreen
from agent.tui.plan_card import PlanCard
from agent.tui.prompt import Prompt
from agent.tui.sidebar import Sidebar

WELCOME = (
    "**defi-agent**. Tell me what to do, e.g. *swap 1 ETH for USDC* or *earn yield on my USDC at "
    "low risk*. I simulate every plan and check it against your session before anything is signed. "
    "**F1** for help."
)


BUSY_LABELS = {
    "respond": "planning, simulating and asking the policy…",
    "send_plan": "signing, sending and verifying…",
    "rehearse": "simulating again, nothing sent…",
    "slash": "working…",
}


_BUSY_GROUPS = ("plan", "send", "command")
"""The workers the spinner follows."""

PLAN_KEYS = {"y": "execute", "d": "dry_run", "n": "discard", "e": "edit"}
"""The keys a plan card takes (bound below): every other character typed on it is text."""
KEY_SETTLE_S = 0.3
"""How long a plan key pressed on a card waits before it acts: one followed by more typing
within this is the first letter of a request, not an answer (QA: "no, make it half" discarded
the plan on its n, and a request beginning with y executed it)."""
NARROW = 100
"""The width, in columns, below which the sidebar is hidden."""


class AgentEvent(Message):
    def __init__(self, event: Event, line: Widget | None = None) -> None:
        super().__init__()
        self.event = event
        self.line = line
        """The request's line in the chat, when the event answers one."""


class DefiAgentApp(App[None]):
    TITLE = "defi-agent"
    CSS = """
    #main { height: 1fr; }
    ChatLog { width: 1fr; }
    Prompt { dock: bottom; margin: 0 0 1 0; }
    Screen.-narrow Sidebar { display: none; }
    """
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [(0, "-narrow"), (NARROW, "-wide")]
    """Below `NARROW` columns the sidebar gives its width to the chat (QA: at 70 columns a plan
    card lost its step column); /portfolio and /session say what it shows."""
    busy: Busy
    """The spinner in the prompt's border (made on mount)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "execute", "execute"),
        Binding("d", "dry_run", "dry run"),
        Binding("n", "discard", "discard"),
        Binding("e", "edit", "edit"),
        Binding("escape", "to_card", "plan keys", show=False),
        Binding("f1", "help", "help"),
        Binding("ctrl+q", "quit", "quit"),
    ]

    def __init__(
        self, service: AgentService, profile: str, block_poll_seconds: float = 2.0
    ) -> None:
        super().__init__()
        self.service = service
        self.profile = profile
        self.block_poll_seconds = block_poll_seconds
        self.cards: dict[str, PlanCard] = {}
        self.proposed: dict[str, PlanProposed] = {}
        self.simulations: dict[str, SimulationDone] = {}
        """A plan's card is drawn once, when the policy has decided (or the plan failed): the
        whole proposal takes tens of milliseconds, and drawing half-filled cards meanwhile only
        competes with the worker thread's chain work for the interpreter."""
        self.pending: str | None = None
        self.last_block: int | None = None
        self.sending = asyncio.Lock()
        """Held while a plan is signed and sent: nothing cancels that, and a request typed
        meanwhile waits for it, then is planned on the chain as the plan left it."""
        self.sent: str | None = None
        """The plan being sent, while `sending` is held."""
        self.quit_when_sent = False
        self.planning = asyncio.Lock()
        """Held while a request is answered or planned: the next waits for it."""
        self.queued = 0
        """Requests typed and not yet being answered."""
        self.requests = 0
        """Requests typed so far: each is answered with its number."""
        self.answered = 0
        """The number of the last request answered."""
        self.unplanned: int | None = None
        """The number of the last request that was to be planned and made no plan."""
        self.held = ""
        """A plan key pressed on the card, waiting `KEY_SETTLE_S` to be an answer or a letter."""
        self._held_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            yield ChatLog()
            yield Sidebar()
        yield Prompt()
        yield Footer()

    def on_mount(self) -> None:
        self.busy = Busy(self.query_one(Prompt))
        self.query_one(ChatLog).add_agent(WELCOME)
        self.screen.set_focus(self.query_one(Prompt))
        self.refresh_sidebar()
        self.set_interval(self.block_poll_seconds, self.watch_blocks)

    def on_unmount(self) -> None:
        """A plan still waiting for an answer is recorded as discarded in the journal."""
        if self.pending is not None:
            self.service.discard(self.pending)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The plan keys work while a plan waits for an answer and its card has the focus (typing in
        the prompt, or clicking it, takes the keys back for text; QA: with the focus moved off
        the card by Tab, "yes but make it 0.05" executed the plan on its y)."""
        if action in ("execute", "dry_run", "discard", "edit"):
            focused = self.focused  # the open plan's card alone: elsewhere a letter is text
            on_open_card = isinstance(focused, PlanCard) and focused.plan_id == self.pending
            return self.pending is not None and on_open_card
        return True

    async def card_key(self, card: PlanCard, event: events.Key) -> None:
        """On a plan card only the plan keys are keys: any other character goes to the prompt, and
        so does the rest of what is typed (typing "what is my balance" on a card must not reach
        the y of "my", even when the keys come in one burst). Read on the card, before the app's
        bindings, which would act on a plan key at once.

        The focus moves at once, not when Textual gets to it: the app hands each key to the
        widget focused as it reads it, so keys typed before the move may still reach the card
        after it. Those are typed into the prompt, in order (QA: over tmux they were dropped:
        "make it half" and Enter sent "make it")."""
        prompt = self.query_one(Prompt)
        if self.focused is not card:
            await self._type(prompt, event)
            return
        if event.key in ("up", "down"):  # the previous or next request, as listed
            event.stop()
            self._settled()  # a plan key held is taken back (QA: it was added to the request)
            self.screen.set_focus(prompt)
            prompt.action_history(-1 if event.key == "up" else 1)
            return
        if event.key in ("backspace", "escape") and self.held:  # the plan key taken back
            event.stop()
            self._settled()
            return
        if event.character in PLAN_KEYS and not prompt.value and not self.held:
            event.stop()
            if card.plan_id != self.pending:  # an older card, reached with shift+tab
                self.notify(
                    "That plan is closed: the keys act on the plan waiting for an answer.",
                    timeout=5,
                )
                return
            self.held = event.character or ""
            self._held_timer = self.set_timer(KEY_SETTLE_S, self._answer_held)
            return
        if event.is_printable:
            self.screen.set_focus(prompt)
            await self._type(prompt, event)

    async def _type(self, prompt: Prompt, event: events.Key) -> None:
        """A key typed on a card, read by the prompt (after a plan key held before it)."""
        prompt.insert_text_at_cursor(self._settled())
        if await prompt.type_key(event):
            event.stop()

    def card_paste(self, card: PlanCard, event: events.Paste) -> None:
        """Text pasted on a card is the prompt's, as typed text is (QA: it was dropped)."""
        event.stop()
        prompt = self.query_one(Prompt)
        self.screen.set_focus(prompt)
        prompt.insert_text_at_cursor(self._settled())
        prompt.paste(event.text)

    def _settled(self) -> str:
        """The plan key held, no longer waiting to be an answer."""
        held, self.held = self.held, ""
        if self._held_timer is not None:
            self._held_timer.stop()
        return held

    def _answer_held(self) -> None:
        """The plan key pressed on the card, nothing typed after it: the answer to the plan, if
        the card still has the focus; otherwise a letter typed."""
        key, self.held = self.held, ""
        action = PLAN_KEYS.get(key)
        if action is not None and self.check_action(action, ()):
            getattr(self, f"action_{action}")()
        elif key:
            self.query_one(Prompt).insert_text_at_cursor(key)

    # input

    def on_input_submitted(self, submitted: Prompt.Submitted) -> None:
        text = submitted.value.strip()
        if not text:
            return
        prompt = self.query_one(Prompt)
        prompt.remember(text)
        chat = self.query_one(ChatLog)
        chat.anchor()  # what is said next is in view (QA: after shift+tab, new cards were not)
        line = chat.add_user(text)
        try:
            command = parse_command(text)
        except UnknownCommand as error:
            chat.add_agent(str(error))
            return
        if command is not None:
            self.run_command(command, line)
            return
        if text.lower() in QUIT_WORDS:  # QA: "exit" was "I don't understand 'exit'"
            chat.add_agent("To quit: **ctrl+q**, or **/quit**.")
            return
        blind = self.answered < self.requests  # typed before the request ahead was answered
        self.requests += 1
        self.queued += 1
        self.respond(text, self.requests, line, blind=blind)

    def run_command(self, command: Command, line: Widget) -> None:
        chat = self.query_one(ChatLog)
        if command.name == "/help":
            self.action_help()
        elif command.name == "/quit":
            self.call_later(self.action_quit)
        elif command.name == "/clear":
            open_plan = self.pending
            self.discard_pending()  # recorded as discarded, not left simulated in the journal
            chat.clear()
            self.cards.clear()
            if open_plan is not None:  # QA: it went without a word, and "yes" then found none
                chat.add_agent(f"Cleared the chat, and discarded plan {open_plan}: nothing sent.")
        else:
            self.slash(command, line)

    # workers

    @work(group="plan", exit_on_error=False)
    async def respond(self, text: str, number: int, line: Widget, *, blind: bool) -> None:
        """Requests are answered in the order typed, each after the one before (cancelling one
        midway left its plan in the journal as planned, and said nothing), "yes" and "no"
        typed included; ``blind`` when typed before the request ahead was answered."""
        async with self.planning:
            self.queued -= 1
            async with self.sending:  # after the plan being sent, if one is
                pass
            try:
                await self._respond(text, number, line, blind=blind)
            finally:
                self.answered = number

    async def _respond(self, text: str, number: int, line: Widget, *, blind: bool) -> None:
        """A question leaves the open plan open, as does a request that cannot be planned; a
        request planned closes it once decided."""
        chat = self.query_one(ChatLog)
        action = plan_answer(text)
        if action is not None:  # in turn: "yes" typed after a request answers its plan
            if self.pending is None:  # (QA: at once, it executed the plan it replaced)
                chat.add_agent("No plan is waiting for an answer.", after=line)
            elif blind and self.unplanned == number - 1:  # QA: it answered the older plan
                chat.add_agent(_unanswered(text, self.pending), after=line)
                self._back_to_open_card()
            elif action == "dry_run":  # now, before a "yes" typed behind it
                await self._rehearse(self.pending)
            else:
                getattr(self, f"action_{action}")()
            return
        try:
            answer = await self.service.answer(text)
        except DefiAgentError as error:  # a token the chain does not have
            chat.add_agent(f"**{error.code}**: {error.one_line()}", after=line)
            self._back_to_open_card()
            return
        if answer is not None:
            chat.add_agent(answer, after=line)
            self._back_to_open_card()
            return
        last = next(reversed(self.cards.values()), None) if asks_again(text) else None
        if last is not None and last.outcome.startswith("Done"):  # QA: nothing said it went
            chat.add_agent(_ONCE_MORE, after=line)
        decided: bool | None = None
        async for event in self.service.propose(text):
            if isinstance(event, PolicyDecision):
                if event.allowed:  # not before: one that cannot be planned leaves it open,
                    self.discard_pending()  # and so does one denied (QA: "make it 3x" lost it)
                decided = event.allowed
            self.post_message(AgentEvent(event, line))
        if decided is None:
            self.unplanned = number
        if not decided:
            self._back_to_open_card()

    def _back_to_open_card(self) -> None:
        """The open plan's card takes the plan keys back once a request typed meanwhile has been
        answered, unless more is being typed (QA: after a follow-up not understood, y was text)."""
        card = self.cards.get(self.pending or "")
        if card is not None and not self.query_one(Prompt).value and not self.queued:
            self.screen.set_focus(card, scroll_visible=False)  # QA: the answer went out of view

    @work(group="send", exit_on_error=False)
    async def send_plan(self, plan_id: str) -> None:
        """Not in the group of `respond`: a request typed while the plan is sent must not cancel
        it halfway (it waits)."""
        async with self.planning, self.sending:  # not while a request is planned on the journal
            self.sent = plan_id
            try:
                async for event in self.service.execute(plan_id, human_confirmed=True):
                    self.post_message(AgentEvent(event))
            finally:
                self.sent = None
        if self.quit_when_sent:
            self.exit()
            return
        self.refresh_sidebar()

    @work(group="plan", exit_on_error=False)
    async def rehearse(self, plan_id: str) -> None:
        """``d`` on the card: in turn with the requests, as a "dry run" typed is."""
        async with self.planning:
            await self._rehearse(plan_id)

    async def _rehearse(self, plan_id: str) -> None:
        """The open plan simulated again at the chain's state now, nothing sent; it stays open
        for y or n (QA: a dry run closed it, and the y after it found no plan)."""
        result = await self.service.dry_run(plan_id)
        card = self.cards.get(plan_id)
        if result is not None and card is not None:
            card.show_rehearsal(result)
        self._back_to_open_card()

    @work(exclusive=True, group="sidebar", exit_on_error=False)
    async def refresh_sidebar(self) -> None:
        snapshot = await self.service.snapshot()
        self.last_block = snapshot.portfolio.block
        for sidebar in self.query(Sidebar):  # none while the app closes (CI: NoMatches)
            sidebar.show(snapshot)

    @work(exclusive=True, group="blocks", exit_on_error=False)
    async def watch_blocks(self) -> None:
        """On a new block, refresh the sidebar, unless a refresh is already under way: on a slow
        node a refresh can take longer than the polling interval, and restarting it each time
        would never let one finish."""
        block = await self.service.block_number()
        refreshing = any(w.group == "sidebar" and w.is_running for w in self.workers)
        if block != self.last_block and not refreshing:
            self.refresh_sidebar()

    @work(group="command", exit_on_error=False)
    async def slash(self, command: Command, line: Widget) -> None:
        reply = await self.service.command(command.name, command.args)
        self.query_one(ChatLog).add_agent(reply, after=line)
        self._back_to_open_card()
        self.refresh_sidebar()

    def on_worker_state_changed(self, changed: Worker.StateChanged) -> None:
        """The spinner follows the plan and command workers; this is also the one place worker
        failures become notifications, with the specific reason."""
        if changed.worker.group in _BUSY_GROUPS:
            busy = self.busy
            if changed.state == WorkerState.RUNNING:
                busy.start(BUSY_LABELS.get(changed.worker.name, "working…"))
            elif not any(w.is_running for w in self.workers if w.group in _BUSY_GROUPS):
                busy.stop()
        if changed.state != WorkerState.ERROR:
            return
        error = changed.worker.error
        if isinstance(error, DefiAgentError):
            message = error.one_line()
        else:
            message = f"{type(error).__name__}: {error}"
        if changed.worker.group in ("sidebar", "blocks"):
            for sidebar in self.query(Sidebar):
                sidebar.show_offline(message)
            if changed.worker.group == "blocks":
                self.last_block = None
                return
        if changed.worker.group == "command":  # a slash command's answer is its error
            self.query_one(ChatLog).add_agent(f"**error**: {message}")
        self.notify(message, severity="error", timeout=8, markup=False)

    # events

    def on_agent_event(self, message: AgentEvent) -> None:
        event = message.event
        chat = self.query_one(ChatLog)
        if isinstance(event, PlanProposed):
            self.proposed[event.plan_id] = event
            return
        plan_id = getattr(event, "plan_id", None) or ""
        if isinstance(event, SimulationDone) and plan_id in self.proposed:
            self.simulations[plan_id] = event
            return
        card = self.cards.get(plan_id)
        if card is None and plan_id in self.proposed and not isinstance(event, StepSimulated):
            card = self.cards[plan_id] = PlanCard(
                self.proposed.pop(plan_id), self.simulations.pop(plan_id, None)
            )
            chat.add_widget(card, after=message.line)
        if isinstance(event, SimulationDone) and card:
            card.show_simulation(event)
        elif isinstance(event, PolicyDecision) and card:
            card.show_decision(event)
            if event.allowed:
                self.pending = event.plan_id
            if self.pending == event.plan_id and not self.query_one(Prompt).value:
                self.screen.set_focus(card)  # not while typing: a letter must not be a plan key
            self.refresh_bindings()
            # The session decided under may be new (made in another shell); read once the card
            # is drawn, so the sidebar's chain reads do not hold up the card.
            self.call_after_refresh(self.refresh_sidebar)
        elif isinstance(event, TxSent | TxConfirmed) and card:
            card.show_tx(event)
        elif isinstance(event, RunDone | RunFailed):
            if self.pending == plan_id:
                self._take_pending()
            if card:
                card.show_outcome(event)
            if isinstance(event, RunFailed) and card and self.pending not in (None, plan_id):
                chat.add_agent(_still_open(self.pending), after=message.line)
            if isinstance(event, RunFailed) and event.code == "needs_clarification" and not card:
                chat.add_agent(event.message, after=message.line)  # a question, not an error (QA)
            elif isinstance(event, RunFailed):
                if not card:
                    chat.add_agent(f"**{event.code}**: {event.message}", after=message.line)
                shown = event.message.replace("`", "")  # a toast has no code style (QA)
                self.notify(shown, severity="error", timeout=8, markup=False)
            self.refresh_bindings()

    # plan keys

    def _take_pending(self) -> str | None:
        plan_id, self.pending = self.pending, None
        if plan_id is not None:
            self.refresh_bindings()
            self.screen.set_focus(self.query_one(Prompt))  # at once: see `card_key`
        return plan_id

    def action_execute(self) -> None:
        plan_id = self._take_pending()
        if plan_id:
            self._into_view(plan_id)
            self.send_plan(plan_id)

    def action_dry_run(self) -> None:
        if self.pending:
            self._into_view(self.pending)
            self.rehearse(self.pending)

    def action_discard(self) -> None:
        if self.pending:
            self._into_view(self.pending)
        self.discard_pending()

    def _into_view(self, plan_id: str) -> None:
        """The card a plan key answered, scrolled into view to show what it does: the open plan
        keeps the keys while questions are answered below it, out of view."""
        card = self.cards.get(plan_id)
        if card is not None:
            self.query_one(ChatLog).scroll_to_widget(card, animate=False)

    def discard_pending(self) -> None:
        plan_id = self._take_pending()
        if plan_id:
            self._finish(plan_id)

    def _finish(self, plan_id: str, *, edited: bool = False) -> None:
        done = self.service.discard(plan_id, edited=edited)
        if done is not None and plan_id in self.cards:
            self.cards[plan_id].show_outcome(done, edited=edited)

    def action_edit(self) -> None:
        """The plan's own request back in the prompt (QA: it was the last text sent, a question)."""
        plan_id = self._take_pending()
        if not plan_id:
            return
        self._finish(plan_id, edited=True)
        prompt = self.query_one(Prompt)
        prompt.value = self.cards[plan_id].proposed.intent
        prompt.cursor_position = len(prompt.value)
        self.screen.set_focus(prompt)

    def action_to_card(self) -> None:
        """escape in an empty prompt gives the plan keys back to the open plan's card (QA: after
        something typed and cleared, only Tab did, which nobody finds)."""
        card = self.cards.get(self.pending or "")
        prompt = self.focused
        if card is not None and isinstance(prompt, Prompt) and not prompt.value:
            self.screen.set_focus(card)

    def action_focus_next(self) -> None:
        """Tab from the prompt goes to the open plan's card, or else the newest (QA: to the
        oldest, at the top of the log)."""
        newest = self.cards.get(self.pending or "") or next(reversed(self.cards.values()), None)
        if isinstance(self.focused, Prompt) and newest is not None:
            self.screen.set_focus(newest)
        else:
            super().action_focus_next()

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    async def action_quit(self) -> None:
        """While a plan is being sent, the app quits once it is sent; asked again, at once (the
        plan is then left for `defi-agent resume`)."""
        if self.sent is None or self.quit_when_sent:
            self.exit()
            return
        self.quit_when_sent = True
        self.notify(
            f"Plan {self.sent} is being sent: quitting when it is done. ctrl+q again quits now "
            f"(`defi-agent resume {self.sent}` then finishes it).",
            timeout=8,
        )


def _unanswered(text: str, pending: str) -> str:
    """Why a "yes" or "no" typed right behind a request that made no plan answers nothing."""
    return (
        f"The request before this *{text}* made no plan, so the *{text}* answers nothing: "
        f"plan {pending} is still open {_OPEN_KEYS}."
    )


def _still_open(pending: str) -> str:
    """After a request whose plan was denied or cannot be carried out: the plan before it is
    still the one the keys answer (QA: a denied follow-up discarded it)."""
    return f"The plan before it, {pending}, is still open {_OPEN_KEYS}."


_OPEN_KEYS = "(`y` on its card executes it, `n` discards it)"
_ONCE_MORE = (
    "The last plan was executed: this plans it once more, from the chain as it is now. Nothing "
    "is sent until you answer `y`."
)


_ANSWERS = {
    "execute": "y|yes|yes please|yep|yeah|ok|okay|sure|go|go ahead|do it|confirm|execute|send it",
    "dry_run": "d|dry run|dry-run|simulate|simulate it|simulate again|simulate it again",
    "discard": "n|no|nope|no thanks|cancel|discard",
    "edit": "e|edit",
}
"""What a request typed in the prompt says when it only answers the open plan."""
_ANSWER_OF = {word: action for action, words in _ANSWERS.items() for word in words.split("|")}


def plan_answer(text: str) -> str | None:
    """The plan action a request typed in the prompt asks for, when it is nothing but an answer
    ("yes", "go ahead", "dry run", "cancel!"): the plan keys' words (QA: "yes please" and "ok"
    were parsed as requests and not understood)."""
    return _ANSWER_OF.get(" ".join(text.lower().strip(" .!").split()))


def create_app(
    service_factory: Callable[[], tuple[AgentService, str]], block_poll_seconds: float = 2.0
) -> DefiAgentApp:
    """The app users run; ``service_factory`` returns the core service and the profile name."""
    service, profile = service_factory()
    return DefiAgentApp(service, profile, block_poll_seconds)
