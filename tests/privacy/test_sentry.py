"""Events sent to Sentry go through the real SDK pipeline and arrive with patient data masked."""

import sentry_sdk
from sentry_sdk.transport import Transport

from healthcare_cms.observability import init_sentry


class CapturingTransport(Transport):
    def __init__(self, options=None):
        super().__init__(options)
        self.envelopes = []

    def capture_envelope(self, envelope):
        self.envelopes.append(envelope)


def test_exceptions_reach_sentry_without_patient_data():
    transport = CapturingTransport()
    init_sentry("https://key@sentry.invalid/1", environment="test", transport=transport)
    try:

        def handle(cpf="529.982.247-25"):
            raise ValueError(f"could not process patient CPF {cpf} / maria@example.com")

        try:
            handle()
        except ValueError as exc:
            sentry_sdk.capture_exception(exc)
        sentry_sdk.flush()
    finally:
        sentry_sdk.init()  # disable again
    payload = b"".join(
        item.payload.get_bytes() for env in transport.envelopes for item in env.items
    )
    assert payload, "an event was sent"
    assert b"529.982.247-25" not in payload and b"maria@example.com" not in payload
    assert b"[CPF]" in payload


def _capture(transport, emit):
    init_sentry("https://key@sentry.invalid/1", environment="test", transport=transport)
    try:
        emit()
        sentry_sdk.flush()
    finally:
        sentry_sdk.init()  # disable again
    return b"".join(item.payload.get_bytes() for env in transport.envelopes for item in env.items)


def test_a_cpf_given_as_an_int_in_logging_extra_does_not_reach_sentry():
    """The record is logged through a logger with no masking handler of its own, so only the
    Sentry hooks stand between it and the event: extra, the log params, the breadcrumb."""
    import logging

    logger = logging.getLogger("tests.privacy.sentry_extra")
    logger.propagate = False
    logger.addHandler(logging.NullHandler())

    def emit():
        logger.info("lookup for %s", 52998224725, extra={"cpf_value": 52998224725})
        logger.error(
            "export failed for %s",
            "maria@example.com",
            extra={"patient_cpf": 52998224725, "row": {"nome": "Zuleika", "n": 898001712345674}},
        )

    payload = _capture(CapturingTransport(), emit)
    assert payload, "an event was sent"
    for secret in (b"52998224725", b"898001712345674", b"maria@example.com", b"Zuleika"):
        assert secret not in payload
    assert b"[CPF]" in payload and b"export failed" in payload
    assert b'"event_id"' in payload


def test_scrub_event_keeps_the_sdk_fields_and_masks_the_rest():
    from healthcare_cms.observability import scrub_breadcrumb, scrub_event

    event = {
        "event_id": "0123456789abcdef0123456789abcdef",
        "timestamp": "2026-12-01T00:00:00.000000Z",
        "server_name": "web-1",
        "sdk": {"name": "sentry.python.django", "version": "2.75.0"},
        "contexts": {
            "runtime": {"name": "CPython", "version": "3.11.2"},
            "trace": {
                "trace_id": "12345678123456781234567812345678",
                "span_id": "1234567812345678",
            },
            "patient": {"nome": "Zuleika", "id": 52998224725},
        },
        "request": {
            "url": "http://x/some-404/52998224725/",
            "query_string": "email=x@y.com",
            "data": {"nome": "Zuleika"},
        },
        "user": {"id": 3, "email": "staff@example.test"},
        "extra": {"cpf_number": 52998224725, "rows": [{"telefone": 987654321}]},
    }
    scrubbed = scrub_event(event)
    assert scrubbed["event_id"] == event["event_id"]
    assert scrubbed["timestamp"] == event["timestamp"]
    assert scrubbed["server_name"] == "web-1"
    assert scrubbed["sdk"]["name"] == "sentry.python.django"
    assert scrubbed["contexts"]["runtime"] == {"name": "CPython", "version": "3.11.2"}
    assert scrubbed["contexts"]["trace"] == event["contexts"]["trace"]
    assert scrubbed["contexts"]["patient"] == "[REDACTED]"
    assert scrubbed["request"] == {"url": "http://x/some-404/[CPF]/"}
    assert scrubbed["user"] == {"id": 3, "email": "[EMAIL]"}
    assert scrubbed["extra"] == {"cpf_number": "[CPF]", "rows": [{"telefone": "[PHONE]"}]}

    crumb = {
        "timestamp": "2026-12-01T00:00:00Z",
        "message": "lookup 52998224725",
        "data": {"n": 52998224725},
    }
    assert scrub_breadcrumb(crumb, {}) == {
        "timestamp": "2026-12-01T00:00:00Z",
        "message": "lookup [CPF]",
        "data": {"n": "[CPF]"},
    }
