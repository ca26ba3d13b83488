import pytest

from backend.payments.references import NumberFinder, find_numbers, find_references
from backend.receivables.reference_codes import ALPHABET, make_reference

SALT = b"merchant-one-salt-0123456789abcd"


def readings(text: str) -> list[tuple[str, ...]]:
    return [mention.readings for mention in find_references(text)]


class TestFindReferences:
    REFERENCE = make_reference(4711, SALT)

    @pytest.mark.parametrize(
        "template",
        [
            "Rechnung {ref} vielen Dank",
            "{lower}",
            "Zahlung {nodash}",
            "{spaced}",
            "Bestellung 12 CB\n{afterprefix}",
            "RE 10023{ref}",
            "text glued at a line wrap{ref}",
        ],
    )
    def test_finds_the_reference_however_written(self, template):
        ref = self.REFERENCE
        text = template.format(
            ref=ref,
            lower=ref.lower(),
            nodash=ref.replace("-", ""),
            spaced=ref.replace("-", " "),
            afterprefix=ref[2:],
        )

        assert readings(text)[0][0] == ref

    @pytest.mark.parametrize("width", [27, 35])
    def test_finds_the_reference_across_bank_line_wrapping(self, width):
        for offset in range(width):
            text = " " * offset + "Zahlung fuer " + self.REFERENCE + " Danke"
            wrapped = "\n".join(text[i : i + width] for i in range(0, len(text), width))

            assert self.REFERENCE in readings(wrapped)[0]

    def test_ignores_a_reference_with_a_wrong_check_character(self):
        wrong = self.REFERENCE[:-1] + next(s for s in ALPHABET if s != self.REFERENCE[-1])

        assert readings(f"Rechnung {wrong}") == []

    def test_finds_several_references_in_order(self):
        other = make_reference(815, SALT)

        assert [r[0] for r in readings(f"{self.REFERENCE} und {other}")] == [self.REFERENCE, other]

    def test_marks_a_mention_glued_to_a_word(self):
        mentions = find_references(f"Zahlung{self.REFERENCE} und {self.REFERENCE}")

        assert [mention.word_start for mention in mentions] == [False, True]

    def test_reports_where_each_reading_ends(self):
        text = f"xx {self.REFERENCE} yy"
        mention = find_references(text)[0]

        assert text[mention.start : mention.ends[0]] == self.REFERENCE


class TestNumberFinder:
    NUMBERS = ["10023", "RE-10024", "100234", "2024-0007", "4711"]

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("Rechnung 10023", {"10023"}),
            ("RE-10023 danke", {"10023"}),
            ("RE10023", {"10023"}),
            ("Rg.Nr.: 10023", {"10023"}),
            ("Rechnung 10024", {"RE-10024"}),
            ("re 10024", {"RE-10024"}),
            ("Rechnung 100234", {"100234"}),
            ("Rechnung 2024-0007 und 2024/0007", {"2024-0007"}),
            ("Rechnung 100\n23", {"10023"}),
            ("Bestellung 0010023", {"10023"}),
            ("Kunde 99 Datum 12.03.2024", set()),
            ("Bestellung 47110", set()),
        ],
    )
    def test_finds_known_numbers_as_whole_words(self, text, expected):
        assert NumberFinder(self.NUMBERS).find(text) == expected

    def test_ignores_numbers_shorter_than_the_minimum(self):
        assert find_numbers("Bestellung 123", ["123"]) == set()
        assert NumberFinder(["123"], min_length=3).find("Bestellung 123") == {"123"}
