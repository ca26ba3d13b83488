import re

import pytest

from backend.receivables.reference_codes import (
    ALPHABET,
    InvalidReferenceError,
    is_valid_reference,
    make_reference,
    normalise_reference,
    reference_id,
)

SALT = b"merchant-one-salt-0123456789abcd"
OTHER_SALT = b"merchant-two-salt-0123456789abcd"


class TestMakeReference:
    def test_has_prefix_four_symbols_and_check_character(self):
        reference = make_reference(42, SALT)

        assert re.fullmatch(r"CB-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]", reference)

    def test_never_uses_ambiguous_characters(self):
        assert not set("01OIL") & set(ALPHABET)
        symbols = "".join(make_reference(i, SALT)[3:] for i in range(2000))

        assert not set("01OIL") & set(symbols)

    def test_is_stable_for_the_same_id_and_salt(self):
        assert make_reference(1234, SALT) == make_reference(1234, SALT)

    def test_differs_between_merchants(self):
        assert make_reference(1234, SALT) != make_reference(1234, OTHER_SALT)

    def test_consecutive_ids_do_not_look_consecutive(self):
        bodies = [make_reference(i, SALT).split("-")[1] for i in range(1, 21)]

        assert bodies != sorted(bodies)

    def test_is_unique_per_merchant(self):
        references = {make_reference(i, SALT) for i in range(50_000)}

        assert len(references) == 50_000

    @pytest.mark.parametrize("receivable_id", [0, 1, 923_520, 923_521, 10**7, 887_503_680, 887_503_681])
    def test_reads_back_to_its_id(self, receivable_id):
        reference = make_reference(receivable_id, SALT)

        assert reference_id(reference, SALT) == receivable_id

    def test_grows_to_six_symbols_above_the_four_symbol_range(self):
        assert len(make_reference(923_520, SALT).split("-")[1]) == 4
        assert len(make_reference(923_521, SALT).split("-")[1]) == 6

    def test_rejects_short_salt_and_negative_id(self):
        with pytest.raises(ValueError, match="salt"):
            make_reference(1, b"short")
        with pytest.raises(ValueError, match="out of range"):
            make_reference(-1, SALT)


class TestValidation:
    def test_accepts_sloppy_spelling_of_a_valid_reference(self):
        reference = make_reference(77, SALT)
        body, check = reference.split("-")[1:]

        assert normalise_reference(f"cb {body.lower()} {check}") == reference
        assert normalise_reference(f"CB{body}{check}") == reference

    def test_detects_every_single_wrong_symbol(self):
        reference = make_reference(5, SALT)
        symbols = reference.replace("-", "")[2:]
        for position, original in enumerate(symbols):
            for replacement in ALPHABET:
                if replacement != original:
                    wrong = symbols[:position] + replacement + symbols[position + 1 :]
                    assert not is_valid_reference(f"CB{wrong}"), wrong

    def test_detects_every_swap_of_two_symbols(self):
        for receivable_id in range(200):
            symbols = make_reference(receivable_id, SALT).replace("-", "")[2:]
            for first in range(len(symbols)):
                for second in range(first + 1, len(symbols)):
                    if symbols[first] == symbols[second]:
                        continue
                    swapped = list(symbols)
                    swapped[first], swapped[second] = swapped[second], swapped[first]
                    assert not is_valid_reference("CB" + "".join(swapped))

    def test_reference_id_rejects_a_bad_check_character(self):
        reference = make_reference(9, SALT)
        wrong_check = next(symbol for symbol in ALPHABET if symbol != reference[-1])

        with pytest.raises(InvalidReferenceError):
            reference_id(reference[:-1] + wrong_check, SALT)

    def test_reference_id_rejects_a_long_reference_that_was_never_issued(self):
        # Ids below 31**4 are always written with four symbols; a six-symbol text decoding to one is forged.
        rejected = 0
        for number in range(20_000):
            body = "".join(ALPHABET[(number // 31**power) % 31] for power in range(6))
            reference = next(
                f"CB-{body}-{check}" for check in ALPHABET if is_valid_reference(f"CB{body}{check}")
            )
            try:
                reference_id(reference, SALT)
            except InvalidReferenceError:
                rejected += 1

        assert rejected > 0
