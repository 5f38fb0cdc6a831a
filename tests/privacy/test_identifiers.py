import random

from healthcare_cms.privacy.identifiers import (
    cns_generate,
    cns_is_valid,
    cpf_generate,
    cpf_is_valid,
)


def test_cpf_check_digits_follow_the_reference_examples():
    assert cpf_is_valid("529.982.247-25")
    assert not cpf_is_valid("529.982.247-24")
    assert not cpf_is_valid("111.111.111-11")


def test_cns_validation_follows_the_reference_examples():
    assert cns_is_valid("100000000030003")
    assert not cns_is_valid("100000000031239")
    assert cns_is_valid("898 0017 1234 5674")
    assert not cns_is_valid("123456789012345")


def test_generated_identifiers_are_valid():
    rng = random.Random(1)
    assert all(cpf_is_valid(cpf_generate(rng)) for _ in range(500))
    assert all(cns_is_valid(cns_generate(rng)) for _ in range(500))
    assert all(cns_is_valid(cns_generate(rng, provisional=True)) for _ in range(200))
