"""A logging filter that masks patient data in every record it passes, and a check that every
handler of every logger has it."""

from __future__ import annotations

import logging
import traceback

from healthcare_cms.privacy.masking import mask_patient_data
from healthcare_cms.privacy.scrubbing import scrub_value

# The attributes every LogRecord has; anything else on a record came from `extra`.
_STANDARD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None))
) | {"message", "asctime", "taskName"}


class PatientDataMaskingFilter(logging.Filter):
    """Render the record's message, mask it, drop the raw arguments and exception text, and
    mask its `extra` fields (Sentry's logging integration sends them with the event).

    It mutates the record, so the handlers after the first one (and Sentry, which reads the
    record after the handlers) all see the masked record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not hide the record
            message = str(record.msg)
        record.msg = mask_patient_data(message)
        record.args = None
        if record.exc_info:
            rendered = "".join(traceback.format_exception(*record.exc_info))
            record.msg = f"{record.msg}\n{mask_patient_data(rendered.rstrip())}"
            record.exc_info = None
            record.exc_text = None
        if record.stack_info:
            record.stack_info = mask_patient_data(record.stack_info)
        for name in set(vars(record)) - _STANDARD_ATTRIBUTES:
            setattr(record, name, scrub_value(getattr(record, name), key=name))
        return True


def unmasked_handlers() -> list[str]:
    """Each logger (by name) with a handler that lacks PatientDataMaskingFilter, or that sends
    its records nowhere but Python's last-resort stderr handler."""
    manager = logging.Logger.manager
    loggers = [logging.getLogger()] + [
        logger for logger in list(manager.loggerDict.values()) if isinstance(logger, logging.Logger)
    ]
    problems = []
    for logger in loggers:
        if not logger.disabled and not _reaches_a_handler(logger):
            problems.append(f"logger '{logger.name}': no handler (the last resort prints it)")
        for handler in logger.handlers:
            if not any(isinstance(f, PatientDataMaskingFilter) for f in handler.filters):
                problems.append(f"logger '{logger.name}': handler {handler!r}")
    return problems


def _reaches_a_handler(logger: logging.Logger) -> bool:
    current: logging.Logger | None = logger
    while current is not None:
        if current.handlers:
            return True
        if not current.propagate:
            return False
        current = current.parent
    return False
