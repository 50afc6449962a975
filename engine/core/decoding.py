"""bytes -> inbound event or refusal, for every input, without raising.

Everything a consumer reads passes through `decode_event`; its refusals become dead-letter
records, so each reason must tell the publisher what to fix.
"""

from pydantic import TypeAdapter, ValidationError

from complaintflow.engine.core.events import INBOUND_TYPES, SCHEMA_VERSION, InboundEvent
from complaintflow.engine.core.outcome import Refusal, RefusalKind
from complaintflow.engine.errors import describe_errors

_ADAPTER: TypeAdapter[InboundEvent] = TypeAdapter(InboundEvent)

MAX_EVENT_BYTES = 1024 * 1024


def decode_event(raw: bytes | None, *, max_bytes: int = MAX_EVENT_BYTES) -> InboundEvent | Refusal:
    """Validate one Kafka message value against the envelope contract.

    The size is checked before anything is parsed, so a huge value costs no parsing time and
    no memory beyond its own bytes.
    """
    if raw is None:
        return Refusal(kind=RefusalKind.NO_VALUE, reason="message has no value")
    if len(raw) > max_bytes:
        return Refusal(
            kind=RefusalKind.TOO_LARGE,
            reason=f"too_large: {len(raw)} bytes, the limit is {max_bytes}",
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Refusal(
            kind=RefusalKind.NOT_UTF8, reason=f"not UTF-8: invalid byte at position {exc.start}"
        )
    try:
        event = _ADAPTER.validate_json(text)
    except ValidationError as exc:
        return _describe(exc)
    except Exception as exc:
        return Refusal(
            kind=RefusalKind.NOT_JSON, reason=f"undecodable input: {type(exc).__name__}: {exc}"
        )
    if "\\u0000" in text and "\\u0000" in event.model_dump_json():
        # PostgreSQL text cannot hold NUL: refuse it here, not in the batch's transaction
        return Refusal(
            kind=RefusalKind.INVALID_ENVELOPE,
            reason=f"invalid envelope for {event.type}: contains a NUL (\\u0000)",
        )
    return event


def _describe(exc: ValidationError) -> Refusal:
    errors = exc.errors(include_url=False)
    first = errors[0]
    kind = first["type"]
    if kind == "json_invalid":
        error = first.get("ctx", {}).get("error", first["msg"])
        return Refusal(kind=RefusalKind.NOT_JSON, reason=f"not JSON: {error}")
    if kind in ("model_attributes_type", "dict_type"):
        return Refusal(
            kind=RefusalKind.NOT_JSON,
            reason="not a JSON object: an envelope is an object with event_id, type, "
            "complaint_id, ...",
        )
    if kind == "union_tag_not_found":
        return Refusal(
            kind=RefusalKind.INVALID_ENVELOPE, reason="invalid envelope: type: field required"
        )
    if kind == "union_tag_invalid":
        tag = first.get("ctx", {}).get("tag")
        return Refusal(
            kind=RefusalKind.UNKNOWN_TYPE,
            reason=f"unknown event type {_excerpt(tag)}; known types: {', '.join(INBOUND_TYPES)}",
        )
    for error in errors:
        if error["loc"][1:] == ("schema_version",) and error["type"] == "literal_error":
            return Refusal(
                kind=RefusalKind.UNSUPPORTED_SCHEMA_VERSION,
                reason=f"unsupported schema_version {_excerpt(error.get('input'))}; "
                f"this engine reads schema_version {SCHEMA_VERSION}",
            )
    in_payload = all(e["loc"][1:2] == ("payload",) for e in errors)
    refusal_kind, kind_name = (
        (RefusalKind.INVALID_PAYLOAD, "invalid payload")
        if in_payload
        else (RefusalKind.INVALID_ENVELOPE, "invalid envelope")
    )
    return Refusal(
        kind=refusal_kind,
        reason=f"{kind_name} for {first['loc'][0]}: {describe_errors(errors, skip=1)}",
    )


def _excerpt(value: object, limit: int = 80) -> str:
    """The repr of an input value quoted in a reason, cut so the reason stays readable."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}..."
