"""The no-op task of the stock django-q2 comparison (bench/djangoq_settings.py)."""


def noop():
    return None
