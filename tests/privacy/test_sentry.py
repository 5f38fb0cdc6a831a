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
