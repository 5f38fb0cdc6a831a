"""A logging filter that masks patient data in every record it passes."""

from __future__ import annotations

import logging

from healthcare_cms.privacy.masking import mask_patient_data


class PatientDataMaskingFilter(logging.Filter):
    """Render the record's message, mask it, and drop the raw arguments and exception text."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not hide the record
            message = str(record.msg)
        record.msg = mask_patient_data(message)
        record.args = None
        if record.exc_info:
            import traceback

            rendered = "".join(traceback.format_exception(*record.exc_info))
            record.msg = f"{record.msg}\n{mask_patient_data(rendered.rstrip())}"
            record.exc_info = None
            record.exc_text = None
        if record.stack_info:
            record.stack_info = mask_patient_data(record.stack_info)
        return True
