"""A local server speaking OpenAI's chat-completions protocol, answering from a script: the hosted
model no test machine can reach. The client in front of it (langchain-openai, the OpenAI SDK,
their structured output and parsing) is the real one."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class ScriptedOpenAI:
    """Answers the n-th request with ``script[n]``: a dict is sent as JSON, a string as it is.
    ``requests`` holds each request's body."""

    def __init__(self, script: list[Any]) -> None:
        self.script = script
        self.requests: list[dict[str, Any]] = []

    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        self.requests.append(body)
        scripted = self.script[len(self.requests) - 1]
        content = scripted if isinstance(scripted, str) else json.dumps(scripted)
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if body.get("tools"):
            name = body["tools"][0]["function"]["name"]
            call = {"id": "call_1", "type": "function"}
            call["function"] = {"name": name, "arguments": content}
            message = {"role": "assistant", "content": None, "tool_calls": [call]}
        return {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion",
            "created": 0,
            "model": body.get("model", ""),
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }


@contextmanager
def scripted_openai(script: list[Any]) -> Iterator[tuple[str, ScriptedOpenAI]]:
    """The server's base URL (…/v1) while it runs, and the script it answers from."""
    scripted = ScriptedOpenAI(script)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            data = json.dumps(scripted.answer(body)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", scripted
    finally:
        server.shutdown()
        server.server_close()
