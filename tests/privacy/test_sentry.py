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
