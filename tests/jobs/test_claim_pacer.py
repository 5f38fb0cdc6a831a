"""When the claiming process claims: in batches, but never leaving workers or new jobs waiting."""

from workflows.jobs.runner.broker import ClaimPacer


def test_an_unknown_count_claims_at_once():
    assert ClaimPacer(16).should_claim()


def test_a_full_node_waits_until_half_its_capacity_is_free():
    pacer = ClaimPacer(16)
    pacer.claimed(free=0, room=0, cap=16)
    for finished in range(1, 8):
        pacer.observed(finished=1, announced=False)
        assert not pacer.should_claim(), finished
    pacer.observed(finished=1, announced=False)
    assert pacer.should_claim()


def test_a_queue_limit_smaller_than_the_node_lowers_the_refill_point():
    pacer = ClaimPacer(16)
    pacer.claimed(free=6, room=0, cap=10)  # the queue's limit of 10 is reached
    assert not pacer.should_claim(), "no room in the queue, whatever the node's free slots"
    for _ in range(5):
        pacer.observed(finished=1, announced=False)
    assert pacer.should_claim(), "half the queue's limit came free"


def test_announced_jobs_are_claimed_at_once_when_the_node_has_any_room():
    pacer = ClaimPacer(16)
    pacer.claimed(free=1, room=0, cap=16)
    pacer.observed(finished=0, announced=True)
    assert pacer.should_claim()
    pacer.claimed(free=0, room=0, cap=16)
    pacer.observed(finished=0, announced=True)
    assert not pacer.should_claim(), "no room at all: wait for a worker"


def test_a_quiet_interval_resynchronises_with_the_database():
    pacer = ClaimPacer(16)
    pacer.claimed(free=0, room=0, cap=16)
    pacer.observed(finished=0, announced=False)
    assert pacer.should_claim()
