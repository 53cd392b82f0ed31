"""Captured prompts and completions in the GenAI semantic-convention message form (opt-in only).

Input:  [{"role": "user", "parts": [{"type": "text", "content": "..."}]}, ...]
Output: [{"role": "assistant", "parts": [...], "finish_reason": "stop"}, ...]
The caller serialises these to JSON and passes the text through the redactor before recording it.
"""

from __future__ import annotations

from typing import Any, Mapping

from openrouter_otel.extract import as_str, get


def input_messages(body: Any) -> list[dict[str, Any]] | None:
    if not isinstance(body, Mapping):
        return None
    messages = body.get("messages")
    if isinstance(messages, list):
        return [_message(get(message, "role") or "user", message) for message in messages]
    source = body.get("input", body.get("prompt"))
    if source is None:
        return None
    if isinstance(source, list) and source and all(isinstance(item, Mapping) for item in source):
        return [_message(get(item, "role") or "user", item) for item in source]
    result = []
    instructions = body.get("instructions")
    if isinstance(instructions, str):
        result.append({"role": "system", "parts": [_text(instructions)]})
    result.append({"role": "user", "parts": _parts(source)})
    return result


def output_messages(response: Any) -> list[dict[str, Any]] | None:
    choices = get(response, "choices")
    if isinstance(choices, (list, tuple)):
        return [_output_choice(choice) for choice in choices]
    output = get(response, "output")  # Responses API, SDK model or raw JSON
    if isinstance(output, (list, tuple)):
        parts = [part for item in output for part in _output_item_parts(item)]
        return [{"role": "assistant", "parts": parts, "finish_reason": as_str(get(response, "status"))}]
    return None


class StreamedContent:
    """Text and tool-call fragments of a stream, per choice, joined into output messages at the end."""

    __slots__ = ("texts", "tool_calls")

    def __init__(self) -> None:
        self.texts: dict[int, list[str]] = {}
        # choice index -> tool-call index -> [id, name, argument fragments]
        self.tool_calls: dict[int, dict[int, list[Any]]] = {}

    def add_text(self, index: int, text: Any) -> None:
        if isinstance(text, str):
            self.texts.setdefault(index, []).append(text)

    def add_choice(self, index: int, choice: Any) -> None:
        delta = get(choice, "delta")
        if delta is None:  # legacy text completion chunk
            self.add_text(index, get(choice, "text"))
            return
        self.add_text(index, get(delta, "content"))
        for fragment in get(delta, "tool_calls") or ():
            self._add_tool_call(index, fragment)

    def _add_tool_call(self, index: int, fragment: Any) -> None:
        position = get(fragment, "index")
        calls = self.tool_calls.setdefault(index, {})
        call = calls.setdefault(position if isinstance(position, int) else len(calls), [None, None, []])
        function = get(fragment, "function")
        call[0] = call[0] or as_str(get(fragment, "id"))
        call[1] = call[1] or as_str(get(function, "name"))
        arguments = get(function, "arguments")
        if isinstance(arguments, str):
            call[2].append(arguments)

    def messages(self, finish: Mapping[int, str]) -> list[dict[str, Any]]:
        indices = sorted(set(self.texts) | set(self.tool_calls))
        return [
            {"role": "assistant", "parts": self._parts(index), "finish_reason": finish.get(index)}
            for index in indices
        ]

    def _parts(self, index: int) -> list[dict[str, Any]]:
        text = "".join(self.texts.get(index, ()))
        parts = [_text(text)] if text or index not in self.tool_calls else []
        for _, (call_id, name, arguments) in sorted(self.tool_calls.get(index, {}).items()):
            parts.append(_tool_call(call_id, name, "".join(arguments)))
        return parts


def _output_item_parts(item: Any) -> list[dict[str, Any]]:
    kind = get(item, "type")
    if kind == "message":
        return [_part(part) for part in get(item, "content") or ()]
    if kind == "function_call":
        return [_tool_call(as_str(get(item, "call_id")), as_str(get(item, "name")), get(item, "arguments"))]
    return [{"type": kind if isinstance(kind, str) else "unknown"}]  # reasoning, web search...: the kind only


def _output_choice(choice: Any) -> dict[str, Any]:
    message = get(choice, "message")
    if message is None:  # legacy text completion
        parts = [_text(get(choice, "text"))]
    else:
        parts = _parts(get(message, "content")) + _tool_calls(get(message, "tool_calls"))
    return {"role": "assistant", "parts": parts, "finish_reason": as_str(get(choice, "finish_reason"))}


def _message(role: Any, message: Any) -> dict[str, Any]:
    parts = _parts(get(message, "content")) + _tool_calls(get(message, "tool_calls"))
    return {"role": role if isinstance(role, str) else "user", "parts": parts}


def _parts(content: Any) -> list[dict[str, Any]]:
    if content is None:
        return []
    if isinstance(content, str):
        return [_text(content)]
    if isinstance(content, list):
        return [_part(item) for item in content]
    return [{"type": type(content).__name__}]


def _part(item: Any) -> dict[str, Any]:
    if isinstance(item, str):
        return _text(item)
    kind = get(item, "type")
    text = get(item, "text")
    if isinstance(text, str):
        return _text(text)
    return {"type": kind if isinstance(kind, str) else "unknown"}  # images, audio, files: the kind, not the bytes


def _tool_calls(calls: Any) -> list[dict[str, Any]]:
    if not isinstance(calls, list):
        return []
    parts = []
    for call in calls:
        function = get(call, "function")
        parts.append(_tool_call(as_str(get(call, "id")), as_str(get(function, "name")), get(function, "arguments")))
    return parts


def _tool_call(call_id: str | None, name: str | None, arguments: Any) -> dict[str, Any]:
    return {"type": "tool_call", "id": call_id, "name": name, "arguments": arguments}


def _text(content: Any) -> dict[str, Any]:
    return {"type": "text", "content": content if isinstance(content, str) else ""}
