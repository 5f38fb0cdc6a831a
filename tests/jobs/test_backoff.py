import random

import pytest

from workflows.jobs.policy.backoff import backoff_bounds, default_backoff


@pytest.mark.parametrize("attempt", range(1, 21))
def test_default_backoff_falls_within_the_formula_for_every_attempt(attempt):
    rng = random.Random(attempt)
    low = 15 + 2**attempt
    high = int(low * 1.10)
    delays = [default_backoff(attempt, 20, rng=rng) for _ in range(200)]
    assert all(low <= d <= high for d in delays)
    assert max(delays) > low  # the jitter is there


def test_the_documented_first_delays():
    assert backoff_bounds(1, 20) == (17, 18)
    assert backoff_bounds(5, 20) == (47, 51)


def test_more_than_twenty_attempts_are_rescaled_to_a_twenty_attempt_scale():
    low, _ = backoff_bounds(100, 100)
    assert low == 15 + 2**20
    assert default_backoff(50, 100) <= int((15 + 2**10) * 1.1)
