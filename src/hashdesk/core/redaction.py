"""Removing secrets from text before it is stored or shown.

People paste passwords, API keys, private keys and card numbers into tickets and chat while
asking for help. Whatever reaches the database is copied into search indexes, emails, exports
and backups, so the secret is taken out on the way in: every channel that accepts text (wall,
chat, incidents, email) calls :func:`redact` and tells the author what was removed.

Detection errs towards precision on free prose and towards removal on labelled values:
numbers only count as card numbers when they pass the Luhn check, IBANs only when they pass
the mod-97 check, generic ``token=`` values only when they look random. Every pattern is written
without nested quantifiers, and the scans that could run to the end of the text repeatedly
(private keys) are done with plain searches, so the time stays linear in the length of the text.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left
from collections.abc import Callable, Iterator
from dataclasses import dataclass

# kind -> (noun used in the replacement marker, singular label, plural label with {n}).
KINDS: dict[str, tuple[str, str, str]] = {
    "password": ("password", "a password", "{n} passwords"),
    "api_key": ("API key", "an API key", "{n} API keys"),
    "token": ("token", "a token", "{n} tokens"),
    "private_key": ("private key", "a private key", "{n} private keys"),
    "card_number": ("card number", "a card number", "{n} card numbers"),
    "iban": ("IBAN", "an IBAN", "{n} IBANs"),
}

MARKER_PREFIX = "[redacted "


def marker(kind: str) -> str:
    """What a secret of ``kind`` is replaced with, e.g. ``[redacted password]``."""
    return f"{MARKER_PREFIX}{KINDS[kind][0]}]"


@dataclass(frozen=True)
class Finding:
    kind: str  # one of KINDS
    count: int
    label: str  # human words: "a password", "2 card numbers"


@dataclass(frozen=True)
class Redacted:
    text: str  # the text with each secret replaced by "[redacted <noun>]"
    findings: tuple[Finding, ...]  # one per kind, in order of first appearance

    @property
    def changed(self) -> bool:
        return bool(self.findings)

    def summary(self, before: str = "posting") -> str:
        """One sentence for the author, e.g. "We removed a password and an API key before
        posting." Empty when nothing was removed."""
        if not self.findings:
            return ""
        labels = [finding.label for finding in self.findings]
        listed = labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]
        return f"We removed {listed} before {before}."


def redact(text: str) -> Redacted:
    """``text`` with every secret we recognise replaced, and what was found."""
    counts: dict[str, int] = {}
    # Markers are never matched, but a pass may uncover a pattern that an overlapping,
    # higher-priority match hid; repeating until a pass finds nothing makes redact(redact(x).text)
    # find nothing more. The second pass practically always ends it; the bound only keeps a
    # pathological input from looping.
    for _ in range(4):
        text, found = _redact_once(text)
        if not found:
            break
        for kind in found:
            counts[kind] = counts.get(kind, 0) + 1
    findings = tuple(
        Finding(kind=kind, count=count, label=_label(kind, count)) for kind, count in counts.items()
    )
    return Redacted(text=text, findings=findings)


def _label(kind: str, count: int) -> str:
    _, singular, plural = KINDS[kind]
    return singular if count == 1 else plural.format(n=count)


# --- spans -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    kind: str


Detector = Callable[[str], Iterator[_Span]]


def _redact_once(text: str) -> tuple[str, list[str]]:
    """One pass: the text with every accepted span replaced, and the kinds in text order.

    Detectors run in priority order; a span that overlaps one already accepted is dropped, so
    a GitHub token after ``password:`` counts once, as a token.
    """
    starts: list[int] = []
    accepted: list[_Span] = []  # kept sorted by start, parallel to ``starts``
    for detector in _DETECTORS:
        for span in detector(text):
            index = bisect_left(starts, span.start)
            if index > 0 and accepted[index - 1].end > span.start:
                continue
            if index < len(accepted) and accepted[index].start < span.end:
                continue
            starts.insert(index, span.start)
            accepted.insert(index, span)
    if not accepted:
        return text, []
    pieces: list[str] = []
    position = 0
    for span in accepted:
        pieces.append(text[position : span.start])
        pieces.append(marker(span.kind))
        position = span.end
    pieces.append(text[position:])
    return "".join(pieces), [span.kind for span in accepted]


# --- private keys ------------------------------------------------------------------------------

_KEY_BEGIN = re.compile(r"-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----")
_KEY_END = re.compile(r"-----END [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----")


def _private_keys(text: str) -> Iterator[_Span]:
    position = 0
    while begin := _KEY_BEGIN.search(text, position):
        end = _KEY_END.search(text, begin.end())
        if end is None:
            # A key pasted without its last line is still a key: remove everything after it.
            yield _Span(begin.start(), len(text), "private_key")
            return
        yield _Span(begin.start(), end.end(), "private_key")
        position = end.end()


# --- credentials in links ----------------------------------------------------------------------

# Anchored on "://" so no scan starts inside ordinary words; user and password classes exclude
# their own terminators, so each match is a single forward pass.
_URL_CREDENTIALS = re.compile(r"://[^\s/@:]+:(?P<secret>[^\s/@]+)@")


def _url_credentials(text: str) -> Iterator[_Span]:
    for match in _URL_CREDENTIALS.finditer(text):
        yield _Span(match.start("secret"), match.end("secret"), "password")


# --- well-known token formats ------------------------------------------------------------------

_B = r"(?<![A-Za-z0-9_-])"  # not inside a longer identifier
_E = r"(?![A-Za-z0-9_-])"

_TOKEN_FORMATS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Hashdesk's own personal API tokens: hd_<12 hex prefix>_<urlsafe secret> (accounts/tokens.py).
    (re.compile(_B + r"hd_[0-9a-f]{12}_[A-Za-z0-9_-]{20,}"), "token"),
    (re.compile(_B + r"(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,255}" + _E), "token"),
    (re.compile(_B + r"github_pat_[A-Za-z0-9_]{22,255}" + _E), "token"),
    (re.compile(_B + r"xox[abposr]-[A-Za-z0-9-]{10,}"), "token"),
    (re.compile(_B + r"(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}"), "api_key"),
    (re.compile(_B + r"AIza[0-9A-Za-z_-]{35}" + _E), "api_key"),
    (re.compile(r"(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])"), "api_key"),
    (re.compile(_B + r"eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), "token"),
)

# OpenAI-style keys share the "sk-" start with ordinary words ("sk-learn-user-guide"), so the
# rest must also look random.
_SK_DASH = re.compile(_B + r"sk-(?P<body>[A-Za-z0-9_-]{20,})")


def _token_formats(text: str) -> Iterator[_Span]:
    for pattern, kind in _TOKEN_FORMATS:
        for match in pattern.finditer(text):
            yield _Span(match.start(), match.end(), kind)
    for match in _SK_DASH.finditer(text):
        if _looks_random(match.group("body")):
            yield _Span(match.start(), match.end(), "api_key")


# --- labelled values ---------------------------------------------------------------------------

_AWS_SECRET = re.compile(
    r"(?i)aws_secret_access_key[\"']?[ \t]*[:=][ \t]*[\"']?"
    r"(?P<value>[A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])"
)
_BEARER = re.compile(r"(?<![A-Za-z0-9])[Bb]earer[ \t]+(?P<value>[A-Za-z0-9._~+/-]{8,}=*)")


def _aws_secrets(text: str) -> Iterator[_Span]:
    for match in _AWS_SECRET.finditer(text):
        yield _Span(match.start("value"), match.end("value"), "api_key")


def _bearer_tokens(text: str) -> Iterator[_Span]:
    for match in _BEARER.finditer(text):
        # "Bearer instruments." is prose; an opaque access token always carries digits.
        if any(c.isdigit() for c in match.group("value")):
            yield _Span(match.start("value"), match.end("value"), "token")


_PASSWORD_WORDS = r"passphrase|password|passwort|passcode|passwd|kennwort|pass|pwd"
# "password: x", "db_password=x", "\"password\": \"x\"". The value is taken on the same line.
_PASSWORD_LABEL = re.compile(
    r"(?i)(?<![A-Za-z0-9])(?:" + _PASSWORD_WORDS + r")[\"']?[ \t]*[:=][ \t]*"
)
# "my password is x", "Das Passwort ist x".
_PASSWORD_SENTENCE = re.compile(
    r"(?i)(?<![A-Za-z0-9])(?:passphrase|password|passwort|passcode|kennwort)[ \t]+"
    r"(?:is|ist|was|war)(?![A-Za-z0-9])[ \t]*:?[ \t]*"
)
_QUOTED = re.compile(r"\"[^\"\n]+\"|'[^'\n]+'")
_BARE = re.compile(r"[^\s]+")
# Words that follow "password is" or "password:" in writing about a password ("the password is
# wrong", "reset your password: see the portal") rather than in a password.
_NOT_A_PASSWORD = frozenset(
    {
        "a", "about", "above", "after", "already", "also", "an", "ask", "at", "attached", "being",
        "below", "blank", "call", "case", "changed", "check", "compromised", "contact", "correct",
        "different", "disabled", "due", "empty", "enabled", "expired", "fine", "for", "forgotten",
        "given", "going", "hidden", "in", "incorrect", "invalid", "just", "known", "leaked",
        "locked", "long", "lost", "missing", "needed", "no", "none", "not", "now", "ok", "on",
        "only", "please", "required", "reset", "same", "saved", "see", "sent", "set", "short",
        "shown", "still", "stored", "strong", "the", "to", "too", "unknown", "use", "valid",
        "very", "visible", "weak", "working", "wrong", "abgelaufen", "bitte", "falsch", "gesperrt",
        "korrekt", "leer", "nicht", "noch", "richtig", "siehe", "zu",
    }
)  # fmt: skip
_TRAILING_PUNCTUATION = ".,;)"


def _password_value(text: str, position: int) -> _Span | None:
    """The password value starting at ``position`` (quotes kept outside the span), or None."""
    quoted = _QUOTED.match(text, position)
    if quoted:
        start, end = quoted.start() + 1, quoted.end() - 1
    else:
        bare = _BARE.match(text, position)
        if bare is None:
            return None
        start, end = bare.start(), bare.end()
        # "password: hunter2." — the full stop ends the sentence, not the password.
        while end - start > 1 and text[end - 1] in _TRAILING_PUNCTUATION:
            end -= 1
    value = text[start:end]
    if (
        text.startswith(MARKER_PREFIX, start)
        or not value.strip("*•")
        or (not quoted and value.lower() in _NOT_A_PASSWORD)
    ):
        return None
    return _Span(start, end, "password")


def _passwords(text: str) -> Iterator[_Span]:
    for pattern in (_PASSWORD_LABEL, _PASSWORD_SENTENCE):
        for match in pattern.finditer(text):
            span = _password_value(text, match.end())
            if span is not None:
                yield span


# Matched on the key word alone (not on a preceding identifier) so the scan never backtracks
# over long words; "client_secret=" is found at "secret=".
_SECRET_ASSIGNMENT = re.compile(
    r"(?i)(?:(?P<token>token)|api[_-]?key|apikey|access[_-]?key|secret[_-]?key|secret|private[_-]?key)"
    r"[\"']?[ \t]*[:=][ \t]*[\"']?(?P<value>[A-Za-z0-9_\-./+=~]{16,})"
)


def _secret_assignments(text: str) -> Iterator[_Span]:
    for match in _SECRET_ASSIGNMENT.finditer(text):
        if _looks_random(match.group("value")):
            kind = "token" if match.group("token") else "api_key"
            yield _Span(match.start("value"), match.end("value"), kind)


def _looks_random(value: str) -> bool:
    """Whether ``value`` reads like generated key material rather than a name or a word.

    Generated secrets mix letters and digits and spread over many symbols; identifiers such as
    ``this_is_not_a_secret`` or ``sk-learn-user-guide`` do neither.
    """
    if len(value) < 16:
        return False
    has_digit = any(c.isdigit() for c in value)
    has_letter = any(c.isalpha() for c in value)
    if not (has_digit and has_letter):
        return False
    frequencies = [value.count(c) / len(value) for c in set(value)]
    entropy = -sum(p * math.log2(p) for p in frequencies)
    return entropy >= 3.0


# --- IBANs -------------------------------------------------------------------------------------

# Length of the IBAN per country (ISO 13616 registry); a country not listed has no IBANs.
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HN": 28, "HR": 21, "HU": 28,
    "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28,
    "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22,
    "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23,
    "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24,
    "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip

# Country, check digits, then up to 30 characters, optionally grouped by single spaces. The
# exact length comes from the country, so the candidate may run into the next word.
_IBAN_CANDIDATE = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}[0-9]{2}(?: ?[A-Za-z0-9]){11,30}")


def iban_is_valid(compact: str) -> bool:
    """The ISO 7064 mod-97 check over an IBAN written without spaces."""
    compact = compact.upper()
    if IBAN_LENGTHS.get(compact[:2]) != len(compact) or not compact.isalnum():
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def _ibans(text: str) -> Iterator[_Span]:
    # The candidate may swallow the start of the next IBAN ("... 00 and HR31 ..."), so the scan
    # resumes right after what was taken (or one character on), not after the whole candidate.
    position = 0
    while match := _IBAN_CANDIDATE.search(text, position):
        position = match.start() + 1
        span = _iban_at(text, match)
        if span is not None:
            position = span.end
            yield span


def _iban_at(text: str, match: re.Match[str]) -> _Span | None:
    length = IBAN_LENGTHS.get(match.group()[:2].upper())
    if length is None:
        return None
    # Walk to the end of exactly ``length`` letters and digits.
    taken, end = 0, match.start()
    while end < match.end() and taken < length:
        if text[end] != " ":
            taken += 1
        end += 1
    if taken < length or (end < len(text) and (text[end].isalnum() or text[end] == "_")):
        return None
    written = text[match.start() : end]
    # Banks print IBANs in capitals; lower case only counts unbroken, or prose such as
    # "at20 people went home" could be read as an Austrian IBAN.
    if " " in written and not written.replace(" ", "").isupper():
        return None
    if not iban_is_valid(written.replace(" ", "")):
        return None
    return _Span(match.start(), end, "iban")


# --- card numbers ------------------------------------------------------------------------------

# A run of digit groups joined by single spaces or dashes; which groups form a card is decided
# in Python so the pattern never needs to backtrack.
_DIGIT_RUN = re.compile(r"(?<!\w)[0-9]+(?:[ -][0-9]+)*")
_GROUP = re.compile(r"[0-9]+")


def luhn_is_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _is_card_number(digits: str) -> bool:
    # Payment cards start with 2-6 (the banking and financial industries), which keeps Luhn-valid
    # reference numbers such as 0000000000000000 out.
    return 13 <= len(digits) <= 19 and digits[0] in "23456" and luhn_is_valid(digits)


def _card_numbers(text: str) -> Iterator[_Span]:
    for run in _DIGIT_RUN.finditer(text):
        groups = list(_GROUP.finditer(text, run.start(), run.end()))
        if run.end() < len(text) and (text[run.end()].isalnum() or text[run.end()] == "_"):
            groups.pop()  # the last group runs into a word, so it is not a number on its own
        index = 0
        while index < len(groups):
            card_end = _longest_card_from(groups, index)
            if card_end is None:
                index += 1
                continue
            yield _Span(groups[index].start(), groups[card_end].end(), "card_number")
            index = card_end + 1


def _longest_card_from(groups: list[re.Match[str]], first: int) -> int | None:
    """Index of the last group of the longest card number starting at ``groups[first]``."""
    best = None
    digits = ""
    for index in range(first, len(groups)):
        group = groups[index].group()
        # Cards are written whole or in groups of three or more (4-4-4-4, 4-6-5); shorter
        # groups are dates, times and phone numbers.
        if len(group) < 3 and not (index == first and len(groups) == 1):
            break
        digits += group
        if len(digits) > 19:
            break
        if _is_card_number(digits):
            best = index
    return best


_DETECTORS: tuple[Detector, ...] = (
    _private_keys,
    _url_credentials,
    _token_formats,
    _aws_secrets,
    _bearer_tokens,
    _passwords,
    _secret_assignments,
    _ibans,
    _card_numbers,
)
