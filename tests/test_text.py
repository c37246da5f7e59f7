"""Tests of course_utils.text: normalisation hard cases, phonemes and vocabularies."""

import re

import pytest

from course_utils import text, voices

SAYABLE = re.compile(r"^[a-z' ,.?!]*$")


def test_the_course_example():
    assert text.normalize("Dr. Lee paid $3.50 on 3 May") == \
        "doctor lee paid three dollars fifty cents on the third of may"


@pytest.mark.parametrize("n, words", [
    (0, "zero"), (7, "seven"), (13, "thirteen"), (40, "forty"), (99, "ninety nine"),
    (100, "one hundred"), (101, "one hundred one"), (1000, "one thousand"),
    (1234, "one thousand two hundred thirty four"), (1_000_000, "one million"),
    (2_000_017, "two million seventeen"), (-5, "minus five"),
    (10 ** 12 + 1, "one trillion one"),
])
def test_number_to_words(n, words):
    assert text.number_to_words(n) == words


@pytest.mark.parametrize("n, words", [
    (1, "first"), (2, "second"), (3, "third"), (5, "fifth"), (8, "eighth"), (9, "ninth"),
    (12, "twelfth"), (20, "twentieth"), (21, "twenty first"), (100, "one hundredth"), (0, "zeroth"),
])
def test_ordinals(n, words):
    assert text.ordinal_to_words(n) == words


@pytest.mark.parametrize("n, words", [
    (1999, "nineteen ninety nine"), (1905, "nineteen oh five"), (1900, "nineteen hundred"),
    (2000, "two thousand"), (2005, "two thousand five"), (2024, "twenty twenty four"),
    (1066, "ten sixty six"),
])
def test_years(n, words):
    assert text.year_to_words(n) == words


def test_number_helpers_reject_bad_input():
    for bad in (1.5, "12", None, True):
        with pytest.raises(TypeError):
            text.number_to_words(bad)
    with pytest.raises(ValueError):
        text.ordinal_to_words(-1)
    with pytest.raises(ValueError):
        text.digits_to_words("12a")
    assert text.number_to_words(10 ** 30).startswith("one zero zero")


@pytest.mark.parametrize("raw, expected", [
    # currency
    ("$1", "one dollar"), ("$0.99", "ninety nine cents"), ("$2.01", "two dollars one cent"),
    ("£2.50", "two pounds fifty pence"), ("£0.01", "one penny"), ("€1.20", "one euro twenty cents"),
    ("¥100", "one hundred yen"), ("$1.5 million", "one point five million dollars"),
    ("$3bn", "three billion dollars"), ("$1,250", "one thousand two hundred fifty dollars"),
    # percentages and decimals
    ("50%", "fifty percent"), ("12.5%", "twelve point five percent"), ("-3%", "minus three percent"),
    ("3.14", "three point one four"), ("0.5", "zero point five"), ("007", "zero zero seven"),
    # times
    ("7:00", "seven o'clock"), ("10:05", "ten oh five"), ("10:30 am", "ten thirty a m"),
    ("7pm", "seven p m"), ("at 7 p.m. today", "at seven p m today"), ("14:45", "fourteen forty five"),
    # dates
    ("3 May", "the third of may"), ("May 3", "may third"), ("May 3rd, 2024", "may third twenty twenty four"),
    ("1 January 2000", "the first of january two thousand"), ("2024-05-03", "the third of may twenty twenty four"),
    ("In Jan. 2020", "in january twenty twenty"), ("the 1990s", "the nineteen nineties"),
    ("in 1999", "in nineteen ninety nine"),
    # ordinals, ranges, fractions, units
    ("21st", "twenty first"), ("the 2nd and 3rd", "the second and third"), ("5-10", "five to ten"),
    ("1/2", "one half"), ("3/4", "three quarters"), ("2½", "two and one half"),
    ("5 km", "five kilometers"), ("1 km", "one kilometer"), ("-5°C", "minus five degrees celsius"),
    ("60 mph", "sixty miles per hour"), ("3 ft", "three feet"), ("1,000,000", "one million"),
    # abbreviations
    ("Mr. Smith", "mister smith"), ("Mrs. Smith", "missus smith"), ("Dr Who", "doctor who"),
    ("St. Paul", "saint paul"), ("Baker St.", "baker street."), ("Elm St. is long", "elm street is long"),
    ("apples, pears, etc.", "apples, pears, et cetera."), ("e.g. this", "for example this"),
    ("No. 5", "number five"), ("Acme Ltd.", "acme limited."),
    # symbols and acronyms
    ("salt & pepper", "salt and pepper"), ("x = y + 2", "x equals y plus two"), ("#1", "number one"),
    ("me@example.com", "me at example dot com"), ("the BBC", "the b b c"), ("NASA", "nasa"),
    ("HTML", "h t m l"), ("well-known", "well known"),
    # unicode
    ("café", "cafe"), ("naïve", "naive"), ("Straße", "strasse"), ("\u201cquoted\u201d", "quoted"),
    ("it\u2019s", "it's"), ("Ｆｕｌｌｗｉｄｔｈ", "fullwidth"), ("wait\u2026 what", "wait. what"),
    ("a \u2014 b", "a, b"),
    # punctuation
    ("Hello, world!", "hello, world!"), ("What?!", "what?"), ("(aside) yes", "aside, yes"),
])
def test_normalize_cases(raw, expected):
    assert text.normalize(raw) == expected


def test_normalize_can_drop_punctuation():
    assert text.normalize("Hello, world! How are you?", punctuation=False) == "hello world how are you"


@pytest.mark.parametrize("raw", [
    "", "   ", "😀", "😀😀😀", "Привет мир", "中文", "!!!", "$", "%", "\u200b", "\x00", "---",
])
def test_exotic_input_gives_a_defined_result(raw):
    out = text.normalize(raw)
    assert SAYABLE.match(out), out
    assert not re.search("[a-z]", out) or raw in ("$", "%")


def test_normalize_output_is_always_sayable():
    nasty = ("On 03/04/2024 at 12:00, Dr. O'Neil (aged 45½) paid €1,234.56 + 20% VAT—i.e. ~£200—"
             "for 3×4 m² of “premium” tiles 😀 #blessed; see https://example.com/a_b?c=1 & call 555-0199!")
    out = text.normalize(nasty)
    assert SAYABLE.match(out), out
    assert "  " not in out and not any(c.isdigit() for c in out)


def test_normalize_prompts_have_no_surprises():
    for line in voices.prompts("train") + voices.prompts("heldout"):
        out = text.normalize(line)
        assert SAYABLE.match(out) and out.replace("'", "").replace(",", "").replace(".", "") \
            .replace("?", "").replace(" ", "").isalpha()


def test_normalize_bad_type():
    with pytest.raises(TypeError, match="str"):
        text.normalize(42)


def test_long_text_is_normalised_whole():
    sentence = "On 3 May Dr. Lee paid $3.50 for 2 coffees at 10:30 am. "
    out = text.normalize(sentence * 2000)
    assert out.count("doctor lee paid three dollars fifty cents") == 2000


# phonemes -------------------------------------------------------------------------------------

def test_phonemize():
    assert text.phonemize("Hello, world!") == "həlˈoʊ, wˈɜːld!"
    assert text.phonemize("cat", separator="|") == "k|ˈæ|t"
    assert text.phonemize("") == "" and text.phonemize("😀") == ""
    british = text.phonemize("Tomato", voice="en")
    assert british != text.phonemize("Tomato") and "ɑː" in british
    with pytest.raises(ValueError, match="no voice"):
        text.phonemize("hello", voice="xx-nowhere")


def test_phoneme_tokens_keep_words_and_punctuation():
    tokens = text.phoneme_tokens("Yes, really?")
    assert tokens.count(" ") == 1 and tokens[-1] == "?" and "," in tokens
    assert "ˈ" in tokens and all(t for t in tokens)


def test_normalisation_changes_what_is_said():
    raw = text.phonemize("Dr. Lee paid $3.50", normalize_first=False)
    clean = text.phonemize("Dr. Lee paid $3.50")
    assert "dˈɑːktɚ" in clean and "fˈɪfti sˈɛnts" in clean
    assert raw != clean


# vocabularies ------------------------------------------------------------------------------------

def test_vocabulary_ids_are_stable():
    vocab = text.PHONEME_VOCAB
    assert vocab.symbols[:8] == ("<pad>", "<bos>", "<eos>", " ", ",", ".", "?", "!")
    assert (vocab.pad_id, vocab.bos_id, vocab.eos_id) == (0, 1, 2)
    assert vocab.id("ˈ") == 8 and vocab.id("a") == 10 and vocab.id("ə") == 68
    assert len(vocab) == 162 and len(set(vocab.symbols)) == len(vocab)
    chars = text.CHAR_VOCAB
    assert chars.id("'") == 8 and chars.id("a") == 9 and chars.id("z") == 34 and len(chars) == 35


def test_text_to_ids_round_trip():
    ids = text.text_to_ids("Hello, world!")
    assert ids[-1] == text.PHONEME_VOCAB.eos_id and text.PHONEME_VOCAB.pad_id not in ids
    assert text.ids_to_text(ids) == "həlˈoʊ, wˈɜːld!"
    with_bos = text.text_to_ids("Hello", add_bos=True, add_eos=False)
    assert with_bos[0] == text.PHONEME_VOCAB.bos_id and with_bos[-1] != text.PHONEME_VOCAB.eos_id
    chars = text.text_to_ids("Dr. Lee paid $3.50 on 3 May", kind="characters")
    assert text.ids_to_text(chars, kind="characters") == text.normalize("Dr. Lee paid $3.50 on 3 May")
    assert text.ids_to_text([0, 0] + ids + [0, 0]) == "həlˈoʊ, wˈɜːld!"


def test_every_prompt_in_every_course_accent_fits_the_vocabulary():
    for accent in voices.ACCENTS:
        for line in voices.prompts("train")[:40] + voices.prompts("heldout")[:10]:
            ids = text.text_to_ids(line, voice=accent)
            assert min(ids) >= 0 and max(ids) < len(text.PHONEME_VOCAB)


@pytest.mark.parametrize("raw", ["", "   ", "😀", "Привет", "!!!"])
def test_nothing_to_say_raises_a_clear_error(raw):
    with pytest.raises(ValueError, match="nothing to say"):
        text.text_to_ids(raw)


def test_vocabulary_errors():
    with pytest.raises(ValueError, match="kind"):
        text.text_to_ids("hello", kind="bytes")
    with pytest.raises(ValueError, match="too long|limit"):
        text.text_to_ids("a" * (text.MAX_TEXT_CHARS + 1))
    with pytest.raises(ValueError, match="out of range"):
        text.ids_to_text([999])
    with pytest.raises(ValueError, match="not in the phoneme vocabulary"):
        text.PHONEME_VOCAB.encode(["☃"])
    assert text.PHONEME_VOCAB.encode(["ɡʲ"], add_eos=False) == [text.PHONEME_VOCAB.id("ɡ"),
                                                                  text.PHONEME_VOCAB.id("ʲ")]


def test_very_long_text_to_ids():
    ids = text.text_to_ids("The quick brown fox jumps over the lazy dog. " * 500)
    assert len(ids) > 10_000


def test_normalize_is_idempotent():
    samples = voices.prompts("heldout")[:20] + [
        "Dr. Lee paid $3.50 on 3 May", "It's -5°C outside!!!", "The BBC, NASA & the U.K. (e.g. 1/2 of 2½ km²)",
        "Meet me at 10:30 a.m. on 2024-05-03, Baker St.", "I'm 100% sure, aren't you?"]
    for raw in samples:
        once = text.normalize(raw)
        assert text.normalize(once) == once, raw
