"""Consent records: a statement in the speaker's own words, parsed and checked before any cloning (notebook 11)."""

from __future__ import annotations

import datetime as _dt
import json
import re
from dataclasses import asdict, dataclass

from pathlib import Path


# --------------------------------------------------------------------------- consent


class ConsentError(Exception):
    """Cloning was refused: no consent, or consent that does not say who, when and for what
    (notebook 11). The message says what is missing and how to give consent."""


@dataclass(frozen=True)
class ConsentRecord:
    """Who gave permission (``granted_by``) to clone whose voice (``speaker``), on which date
    (ISO ``YYYY-MM-DD``) and for what purpose; ``source`` says where it came from (notebook 11)."""

    speaker: str
    granted_by: str
    date: str
    purpose: str
    statement: str = ""
    source: str = ""

    def to_dict(self) -> dict:
        """The record as a plain dict (to store next to the audio it allowed)."""
        return asdict(self)

    def describe(self) -> str:
        """One line: who allowed what, when."""
        who = self.speaker if self.speaker == self.granted_by else f"{self.speaker} (granted by {self.granted_by})"
        return f"consent of {who} on {self.date} for: {self.purpose}"


HOW_TO_CONSENT = (
    'Pass --consent "I, <name>, consent to <what, e.g. cloning my voice for the course demo> on '
    '<date, e.g. 2026-11-25>" (the speaker\'s own words), or --consent-file PATH: a JSON object or '
    '"key: value" lines with the fields speaker, granted_by, date and purpose. '
    "Notebook 11 explains why."
)

_FIELDS = ("speaker", "granted_by", "date", "purpose")
_OPTIONAL = ("expires", "statement", "contact")
#: Words that turn a consent statement into a refusal ("consent to nothing", "I forbid ...").
_NEGATION = re.compile(r"\b(not|no|never|nothing|none|nobody|neither|nor|forbid\w*|refus\w*|prohibit\w*|"
                       r"den(?:y|ies|ied)|withdraw\w*|revok\w*|don'?t|won'?t|cannot|can'?t)\b",
                       re.IGNORECASE)
#: Consent dated earlier than this many years ago is a typing error, not a consent.
_OLDEST_YEARS = 100
_TRIVIAL = {"", "y", "yes", "ok", "okay", "sure", "true", "1", "i consent", "consent", "agree",
            "i agree", "yes i consent", "granted", "fine", "...", "-", "n/a", "na", "none", "x"}
_PLACEHOLDER = re.compile(r"<\s*(name|date|purpose|what|who|speaker|your)\b[^>]*>|\.\.\.|…", re.IGNORECASE)
_DATE_FORMATS = ("%Y-%m-%d", "%d %B %Y", "%d %b %Y", "%B %d %Y", "%b %d %Y", "%d/%m/%Y",
                 "%Y/%m/%d", "%d.%m.%Y")
_STATEMENT = re.compile(
    r"^\s*i\s*,?\s+(?P<name>[^,]+?)\s*,\s*(?:hereby\s+)?(?:give\s+(?:my\s+)?consent|consent)\s+"
    r"(?:to|for)\s+(?P<purpose>.+)\s*,?\s+on\s+(?P<date>.+?)\s*[.!]?\s*$",
    re.IGNORECASE | re.DOTALL)


def _refuse(why: str) -> ConsentError:
    return ConsentError(f"Refusing to clone a voice: {why}. {HOW_TO_CONSENT}")


def _read_date(text: str, what: str, kind: str = "date") -> _dt.date:
    """The one reading of a date: ISO, or day-first numbers, or a month by name; an ambiguous
    numeric date (11/10/2026: 11 October or November 10?) or an implausible year is refused."""
    cleaned = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", str(text).strip().rstrip(".")).replace(",", " ")
    cleaned = " ".join(cleaned.split())
    for fmt in _DATE_FORMATS:
        try:
            day = _dt.datetime.strptime(cleaned, fmt).date()
            break
        except ValueError:
            continue
    else:
        raise _refuse(f"{what} has no readable {kind} ({text!r}); write it like 2026-11-25")
    numbers = re.fullmatch(r"(\d{1,2})[/.](\d{1,2})[/.]\d{4}", cleaned)
    if numbers and int(numbers[1]) <= 12 and int(numbers[2]) <= 12 and numbers[1] != numbers[2]:
        raise _refuse(f"{what}: the {kind} {text!r} is ambiguous ({day:%d %B %Y} or {day:%B} read the other "
                      f"way round?); write it as {day.isoformat()} or with the month's name")
    if day.year < _dt.date.today().year - _OLDEST_YEARS:
        raise _refuse(f"{what}: {day.isoformat()} is not a plausible {kind}; write it like 2026-11-25")
    return day


def _parse_date(text: str, what: str) -> str:
    day = _read_date(text, what)
    if day > _dt.date.today() + _dt.timedelta(days=1):
        raise _refuse(f"{what} is dated {day.isoformat()}, in the future: consent must already be given")
    return day.isoformat()


def _check_text(value: object, field: str, what: str, min_words: int = 1) -> str:
    if not isinstance(value, str):
        raise _refuse(f"{what}: field {field!r} must be text, got {type(value).__name__}")
    text = " ".join(value.split())
    if (text.lower().strip(" .!") in _TRIVIAL or _PLACEHOLDER.search(text)
            or len(text.split()) < min_words or not any(ch.isalpha() for ch in text)):
        raise _refuse(f"{what}: {field} {value!r} is empty, a placeholder or too vague")
    return text


def _check_grants(purpose: str, what: str) -> None:
    """Refuse a purpose that negates or refuses ("nothing", "I forbid cloning my voice")."""
    found = _NEGATION.search(purpose)
    if found:
        raise _refuse(f"{what} does not grant a purpose: {purpose!r} says {found[0]!r}; a consent says what "
                      "the speaker agrees to, e.g. \"consent to cloning my voice for the course demo\"")


def _from_statement(statement: str) -> ConsentRecord:
    if not isinstance(statement, str):
        raise _refuse(f"the consent statement must be text, got {type(statement).__name__}")
    text = " ".join(statement.split())
    if text.lower().strip(" .!") in _TRIVIAL or len(text.split()) < 5:
        raise _refuse(f"the consent statement {statement!r} is empty or trivial: it must say who "
                      "consents, to what, and when")
    match = _STATEMENT.match(text)
    if not match:
        raise _refuse(f"the consent statement {statement!r} does not have the form "
                      "\"I, <name>, consent to <purpose> on <date>\"")
    name = _check_text(match["name"], "name", "the consent statement")
    purpose = _check_text(match["purpose"], "purpose", "the consent statement", min_words=2)
    _check_grants(purpose, "the consent statement")
    date = _parse_date(match["date"], "the consent statement")
    return ConsentRecord(speaker=name, granted_by=name, date=date, purpose=purpose,
                         statement=text, source="--consent")


def _read_fields(path: Path) -> dict:
    """The fields of a consent file; a duplicate or unknown field, an empty value or a byte-order
    mark is refused with its line."""
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _refuse(f"the consent file {str(path)!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise _refuse(f"the consent file {str(path)!r} cannot be read ({exc})") from None
    where = f"the consent file {str(path)!r}"
    if raw.startswith("\ufeff"):
        raise _refuse(f"{where}, line 1: starts with a byte-order mark (U+FEFF); save it as UTF-8 without one")
    if raw.lstrip().startswith("{"):
        def no_duplicates(pairs):
            keys = [_key(k) for k, _ in pairs]
            twice = sorted({k for k in keys if keys.count(k) > 1})
            if twice:
                raise _refuse(f"{where} gives {twice[0]!r} twice: which one holds?")
            return dict(pairs)

        try:
            data = json.loads(raw, object_pairs_hook=no_duplicates)
        except json.JSONDecodeError as exc:
            raise _refuse(f"{where} is not valid JSON ({exc})") from None
        if not isinstance(data, dict):
            raise _refuse(f"{where} must hold a JSON object")
        fields = {_key(k): v for k, v in data.items()}
        unknown = sorted(set(fields) - set(_FIELDS) - set(_OPTIONAL))
        if unknown:
            raise _refuse(f"{where}: unknown field {unknown[0]!r} (the fields: {', '.join(_FIELDS + _OPTIONAL)})")
        return fields
    fields: dict = {}
    for number, line in enumerate(raw.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition(":")
        key, value = _key(key), value.strip()
        if not sep:
            raise _refuse(f"{where}, line {number}: not 'key: value': {line!r}")
        if key not in _FIELDS + _OPTIONAL:
            raise _refuse(f"{where}, line {number}: unknown field {key!r} (the fields: "
                          f"{', '.join(_FIELDS + _OPTIONAL)})")
        if key in fields:
            raise _refuse(f"{where}, line {number}: the field {key!r} is given twice: which one holds?")
        if not value:
            raise _refuse(f"{where}, line {number}: the field {key!r} is empty")
        fields[key] = value
    return fields


def _key(name: object) -> str:
    return str(name).strip().lower().replace("-", "_").replace(" ", "_")


def _from_file(consent_file: str | Path) -> ConsentRecord:
    path = Path(consent_file).expanduser()
    fields = _read_fields(path)
    what = f"the consent file {path.name!r}"
    missing = [f for f in _FIELDS if f not in fields]
    if missing:
        raise _refuse(f"{what} lacks the field(s) {', '.join(missing)}")
    speaker = _check_text(fields["speaker"], "speaker", what)
    granted_by = _check_text(fields["granted_by"], "granted_by", what)
    purpose = _check_text(fields["purpose"], "purpose", what, min_words=2)
    _check_grants(purpose, what)
    date = _parse_date(fields["date"], what)
    if "expires" in fields:
        expires = _read_date(fields["expires"], what, "expiry date")
        if expires < _dt.date.today():
            raise _refuse(f"{what} expired on {expires.isoformat()}")
    statement = fields.get("statement", "")
    return ConsentRecord(speaker=speaker, granted_by=granted_by, date=date, purpose=purpose,
                         statement=statement if isinstance(statement, str) else "", source=str(path))


def require_consent(consent: str | None = None, consent_file: str | Path | None = None) -> ConsentRecord:
    """Return the :class:`ConsentRecord` that allows cloning, or raise :class:`ConsentError`.

    ``consent`` is a statement such as ``"I, Ada Lovelace, consent to cloning my voice for the
    course demo on 2026-11-25"``; ``consent_file`` a JSON or ``key: value`` file with the fields
    ``speaker``, ``granted_by``, ``date`` and ``purpose`` (optional ``expires``, ``statement``).
    Nothing, a trivial statement ("yes"), a placeholder or an invalid file is refused with a
    message that says why and how. When both are given, both must be valid; the file's record
    is returned with the statement attached (notebook 11).
    """
    if consent_file is not None and str(consent_file).strip() == "":
        consent_file = None
    if consent is None and consent_file is None:
        raise _refuse("no consent was given")
    from_statement = _from_statement(consent) if consent is not None else None
    if consent_file is None:
        return from_statement
    record = _from_file(consent_file)
    if from_statement is not None:
        names = {" ".join(n.lower().split()) for n in (record.speaker, record.granted_by)}
        if " ".join(from_statement.speaker.lower().split()) not in names:
            raise _refuse(f"the statement is by {from_statement.speaker!r} but the consent file is for "
                          f"{record.speaker!r} (granted by {record.granted_by!r}): they must be the same person")
        record = ConsentRecord(**{**record.to_dict(), "statement": from_statement.statement})
    return record


