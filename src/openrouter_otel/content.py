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
    text = getattr(response, "output_text", None)  # a property of the Responses API model
    if isinstance(text, str):
        return [{"role": "assistant", "parts": [_text(text)], "finish_reason": as_str(get(response, "status"))}]
    return None


def streamed_output_messages(texts: Mapping[int, list[str]], finish: Mapping[int, str]) -> list[dict[str, Any]]:
    return [
        {"role": "assistant", "parts": [_text("".join(parts))], "finish_reason": finish.get(index)}
        for index, parts in sorted(texts.items())
    ]


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
        parts.append(
            {
                "type": "tool_call",
                "id": as_str(get(call, "id")),
                "name": as_str(get(function, "name")),
                "arguments": get(function, "arguments"),
            }
        )
    return parts


def _text(content: Any) -> dict[str, Any]:
    return {"type": "text", "content": content if isinstance(content, str) else ""}
