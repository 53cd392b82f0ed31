"""What counts as PII or a secret: one `Detector` per kind, each a pattern plus a validator.

Patterns find candidates; validators (Luhn, mod-97, address syntax, JWT headers, digit counts) reject
look-alikes so that the ids, hashes, timestamps and numbers telemetry is made of pass through. All
patterns are ASCII-only (`re.ASCII`): text in any language around a value does not change what matches.

Each detector also carries an RE2 form (`Detector.re2`), from which collector-config/generate.py writes the
collector's rules: one definition for both layers.

Each detector names the substrings one of which a value must contain for it to apply (`@`, `sk-`, a digit,
...). The redactor checks these gates once per value, at C speed, and runs only the patterns they open.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import re
from dataclasses import dataclass
from typing import Callable

# Gates that are not substrings: "any ASCII digit"; "a run of 7+ characters of digits and separators,
# starting and ending with a digit" (every phone, SSN, card and IPv4 address has one); "may hold an IPv6".
DIGIT_GATE: tuple[str, ...] = ("<digit>",)
NUMBER_GATE: tuple[str, ...] = ("<number>",)
IPV6_GATE: tuple[str, ...] = ("<ipv6>",)
NUMBER_RUN = re.compile(r"[0-9][0-9 ()./+-]{5,}[0-9]")


@dataclass(frozen=True)
class Detector:
    """One kind of PII or secret. `name` is the `pii.type` and appears in `[REDACTED:<name>]`."""

    name: str
    pattern: re.Pattern[str]
    # Substrings of which one must be in a value for the pattern to be worth running (the gate); the
    # DIGIT_GATE marker means "any ASCII digit". Empty: always run.
    triggers: tuple[str, ...] = ()
    validate: Callable[[str], bool] | None = None
    # For formats whose extent the pattern cannot know (IBAN lengths by country): how many characters of
    # the candidate are the value, or None to reject it.
    measure: Callable[[str], int | None] | None = None
    # The regex group holding the sensitive part (e.g. the token after "Bearer "); 0 is the whole match.
    group: int | str = 0
    # For emails: characters the match extends over to the left of where the pattern starts (at most 64),
    # trimmed so that the value starts with a letter or digit.
    local_part: frozenset[str] | None = None
    # The same kind as an RE2 regex (no look-around, no backreference) for the collector's redaction rules
    # (collector-config/generate.py). RE2 cannot run the validators: these forms are shaped to leave the
    # values telemetry is made of alone.
    re2: Re2 | None = None


@dataclass(frozen=True)
class Re2:
    """An RE2 regex `(^|[^<not_after>])<body><end>`. The guard group stands for the Python pattern's
    look-behind; the collector's replacement puts its character back (`${1}`)."""

    body: str
    not_after: str = ""
    end: str = ""
    # The body itself starts with a group to keep (BEARER_TOKEN: the scheme before the token).
    keeps_first_group: bool = False

    @property
    def keeps(self) -> bool:
        """Whether the replacement must put group 1 back."""
        return bool(self.not_after) or self.keeps_first_group

    @property
    def regex(self) -> str:
        guard = f"(^|[^{self.not_after}])" if self.not_after else ""
        return f"{guard}{self.body}{self.end}"


def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.ASCII | re.VERBOSE)


def _digits(text: str) -> str:
    return "".join(ch for ch in text if "0" <= ch <= "9")


# --- validators ------------------------------------------------------------------------------

def luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


# Issuer prefixes of the card networks (Visa, Mastercard, Amex, Discover, Diners, JCB, UnionPay, Maestro)
_CARD_PREFIX = re.compile(r"4|5[1-5]|2(?:2[2-9]|[3-6]|7[01]|720)|3[47]|3(?:0[0-5]|[68])|35|6(?:011|5|4[4-9]|2)|5[06-9]|6[0-9]")


CARD_DIGITS = range(13, 20)  # card numbers are 13 to 19 digits long
CARD_SEPARATORS = " -"
# How card numbers are printed, besides one unbroken run: groups of four (the last one shorter), and the
# 4-6-5 (Amex) and 4-6-4 (Diners) layouts.
CARD_GROUPINGS: tuple[tuple[int, ...], ...] = tuple(
    (4,) * (count // 4) + ((count % 4,) if count % 4 else ()) for count in CARD_DIGITS) + ((4, 6, 5), (4, 6, 4))


def card_length(candidate: str) -> int | None:
    """Length of the longest valid card number (13-19 digits, one kind of separator, a network's prefix,
    Luhn) at the start of `candidate`, or None. Trailing digits (an expiry, a CVV) are not part of it."""
    separators = {ch for ch in candidate if not ch.isdigit()}
    if len(separators) > 1:
        return None
    ends = [index + 1 for index, ch in enumerate(candidate) if ch.isdigit()]
    digits = _digits(candidate)
    if _CARD_PREFIX.match(digits) is None:
        return None
    for count in range(min(len(digits), CARD_DIGITS[-1]), CARD_DIGITS[0] - 1, -1):
        end = ends[count - 1]
        at_group_end = end == len(candidate) or not candidate[end].isdigit()
        if at_group_end and luhn_ok(digits[:count]):
            return end
    return None


# IBAN length per country (ISO 13616 registry).
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29,
    "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29,
    "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28,
    "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
    "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
    "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29,
    "RO": 24, "RS": 22, "SA": 24, "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}


def iban_length(candidate: str) -> int | None:
    """Length in characters of the valid IBAN at the start of `candidate` (spaces allowed), or None."""
    expected = IBAN_LENGTHS.get(candidate[:2])
    if expected is None:
        return None
    compact, consumed = [], 0
    for char in candidate:
        if len(compact) == expected:
            break
        consumed += 1
        if char != " ":
            compact.append(char)
    if len(compact) != expected:
        return None
    code = "".join(compact)
    rearranged = code[4:] + code[:4]
    number = "".join(str(int(char, 36)) for char in rearranged)
    return consumed if int(number) % 97 == 1 else None


# Attributes whose value names a machine (the server called, the sockets of a connection, the host) keep
# their IP addresses: telemetry needs them. Everywhere else (prompts, messages, exception text, log bodies,
# client.address, http.client_ip) an IP address of any range may name a person's device, and is redacted:
# a private address names a user inside a corporate network, a link-local EUI-64 address embeds the MAC.
# Current names first, then the older ones semantic conventions used for the same thing.
INFRASTRUCTURE_ADDRESS_KEYS: tuple[str, ...] = (
    "server.address", "server.socket.address", "server.socket.domain", "network.peer.address",
    "network.local.address", "host.ip",
    "net.peer.name", "net.peer.ip", "net.host.name", "net.host.ip", "net.sock.peer.addr", "net.sock.host.addr",
)
# The detectors such attributes are not scanned with.
ADDRESS_DETECTOR_NAMES: tuple[str, ...] = ("IPV4", "IPV6")


def ipv4_ok(candidate: str) -> bool:
    try:
        ipaddress.IPv4Address(candidate)
    except ValueError:
        return False
    return True


def ipv6_ok(candidate: str) -> bool:
    """Any IPv6 address but the bare `::` (unspecified), which is more often syntax (`a :: b`) than an address."""
    try:
        ipaddress.IPv6Address(candidate.split("%", 1)[0])
    except ValueError:
        return False
    return candidate != "::"


SSN_INVALID_AREAS = ("000", "666")  # areas 900-999 are not issued either: the pattern starts with [0-8]


def ssn_ok(candidate: str) -> bool:
    return not candidate.startswith(SSN_INVALID_AREAS)


def phone_ok(candidate: str) -> bool:
    digits = _digits(candidate)
    if candidate.startswith("+") or candidate.startswith("00"):
        return 8 <= len(digits) - (2 if candidate.startswith("00") else 0) <= 15
    return 9 <= len(digits) <= 12


def jwt_ok(candidate: str) -> bool:
    header = candidate.split(".", 1)[0]
    try:
        decoded = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    except (ValueError, binascii.Error):
        return False
    return isinstance(decoded, dict) and ("alg" in decoded or "typ" in decoded)


def bearer_ok(token: str) -> bool:
    """Tokens are long or mix letters and digits; "bearer instruments" in prose and placeholders such as
    YOUR_ACCESS_TOKEN are not."""
    has_digit = any(ch.isdigit() for ch in token)
    has_alpha = any(ch.isalpha() for ch in token)
    if not (has_digit or any(ch.islower() for ch in token)):
        return False
    return len(token) >= 16 or (has_digit and has_alpha)


def openrouter_key_ok(key: str) -> bool:
    """Real keys carry 64 hex digits; `sk-or-v1-your-key-here` in documentation is not one."""
    return sum(ch.isdigit() for ch in key[6:]) >= 4


_IMAGE_SUFFIX = re.compile(r"\.(?:png|jpe?g|gif|svg|webp|avif|ico|bmp|tiff?)$", re.IGNORECASE)


def email_domain_ok(domain: str) -> bool:
    """`logo@2x.png` names an image, not a mailbox: no top-level domain is an image format."""
    return _IMAGE_SUFFIX.search(domain) is None


# --- the built-in detectors ------------------------------------------------------------------
# Each pattern starts with a literal or one character class so that the regex engine can skip to
# candidates at C speed. The word-boundary check comes right after that start, as a look-behind over
# it (`_not_after`): a look-behind at the very start would turn that skipping off.

_WORD = r"\w"


def _not_after(chars: str, start_width: int) -> str:
    """Look-behind, placed after the first `start_width` characters: the character before them is not in `chars`."""
    return rf"(?<![{chars}].{{{start_width}}})"


# RE2 pieces shared by several forms.
_RE2_END = r"\b"  # the Python patterns' look-ahead "no word character next", as far as RE2 can say it
_HEX4 = "[0-9A-Fa-f]{1,4}"
_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"


def _alternatives(forms: list[str]) -> str:
    return "(?:" + "|".join(forms) + ")"


def _digit_strings_re2(strings: set[str]) -> str:
    """An RE2 regex matching exactly `strings` (digit strings of one length): what a validator's rule on a
    few leading digits (an issuer prefix, an SSN area) says, without look-ahead."""
    width = len(next(iter(strings)))
    if width == 0:
        return ""
    if len(strings) == 10 ** width:
        return f"[0-9]{{{width}}}" if width > 1 else "[0-9]"
    by_rest: dict[str, list[str]] = {}
    for first in sorted({string[0] for string in strings}):
        rest = _digit_strings_re2({string[1:] for string in strings if string[0] == first})
        by_rest.setdefault(rest, []).append(first)
    forms = [_digit_class(firsts) + rest for rest, firsts in by_rest.items()]
    return forms[0] if len(forms) == 1 else _alternatives(forms)


def _digit_class(digits: list[str]) -> str:
    if len(digits) == 1:
        return digits[0]
    runs, start = [], 0
    for index in range(1, len(digits) + 1):
        if index == len(digits) or int(digits[index]) != int(digits[index - 1]) + 1:
            run = digits[start:index]
            runs.append(run[0] if len(run) == 1 else f"{run[0]}{run[1]}" if len(run) == 2 else f"{run[0]}-{run[-1]}")
            start = index
    return "[" + "".join(runs) + "]"


def _all_digits(width: int) -> list[str]:
    return [f"{number:0{width}d}" for number in range(10 ** width)]


# The pattern starts at the "@" (a literal, so the search is quick) and finds the domain; the redactor
# extends the match to the left over `local_part` characters (see `Detector.local_part`).
_EMAIL_LOCAL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._%+-"
_DOMAIN = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}"
EMAIL = Detector("EMAIL", _compile(r"""
    @(?<=[A-Za-z0-9._%+-]@)""" + _DOMAIN + r"""
    (?![A-Za-z0-9-])
"""), ("@",), email_domain_ok, local_part=frozenset(_EMAIL_LOCAL),
    re2=Re2(r"[A-Za-z0-9][A-Za-z0-9._%+-]*@" + _DOMAIN, end=_RE2_END))

_PHONE_NOT_AFTER = r"\w+.:/-"
_PHONE_START = _not_after(_PHONE_NOT_AFTER, 1)
_PHONE_END = r"(?![\w]|[.:/-][0-9])"
PHONE_INTERNATIONAL_DIGITS = (8, 15)  # E.164: country code and number, without the 00 or +
PHONE_NATIONAL_DIGITS = (9, 12)  # with the trunk prefix


def _phone_re2(body: str) -> Re2:
    return Re2(body, _PHONE_NOT_AFTER, _RE2_END)


_INTERNATIONAL_RE2 = (r"(?:\+|00)[1-9](?:[ .()-]{0,2}[0-9])"
                      f"{{{PHONE_INTERNATIONAL_DIGITS[0] - 1},{PHONE_INTERNATIONAL_DIGITS[1] - 1}}}")
_NA_AREA = r"(?:\([2-9][0-9]{2}\)[ .-]?|[2-9][0-9]{2}[ .-])"
_NA_LOCAL = r"[2-9][0-9]{2}[ .-][0-9]{4}"
_NA_TRUNK_BODY = r"[ .-](?:\([2-9][0-9]{2}\)|[2-9][0-9]{2})[ .-]" + _NA_LOCAL
_NATIONAL_DOTTED = r"[1-9](?:\.[0-9]{2}){4}"
# Three patterns, each starting with one character class.
PHONE_INTERNATIONAL = Detector("PHONE", _compile(
    r"[+0]" + _PHONE_START + r"""
    (?:(?<=\+)|0)[1-9][0-9]{0,2} (?:[ .-]?(?:\([0-9]{1,5}\)|[0-9]{1,5})){1,6}   # +CC or 00CC, then groups
""" + _PHONE_END), NUMBER_GATE, phone_ok, re2=_phone_re2(_INTERNATIONAL_RE2))
PHONE_NORTH_AMERICAN = Detector("PHONE", _compile(
    r"[(2-9]" + _PHONE_START + r"""
    (?:(?<=\()[2-9][0-9]{2}\)[ .-]?|(?<=[2-9])[0-9]{2}[ .-])""" + _NA_LOCAL + r"""  # (415) 555-0132
""" + _PHONE_END), NUMBER_GATE, phone_ok, re2=_phone_re2(_NA_AREA + _NA_LOCAL))
PHONE_NORTH_AMERICAN_TRUNK = Detector("PHONE", _compile(
    r"1" + _PHONE_START + _NA_TRUNK_BODY + _PHONE_END   # 1-800-555-0197
), NUMBER_GATE, phone_ok, re2=_phone_re2("1" + _NA_TRUNK_BODY))
PHONE_NATIONAL = Detector("PHONE", _compile(
    r"0" + _PHONE_START + r"""
    (?<![0-9][ ].)   # not the middle of spaced digit groups (a card, an IBAN)
    (?:[1-9][0-9]{0,4}(?:[ /-]?[0-9]{2,8}){1,5}   # trunk 0: 020 7946 0958, 06 12 34 56 78, 030/1234567
      |""" + _NATIONAL_DOTTED + r""")                    # 06.38.87.51.35
""" + _PHONE_END), NUMBER_GATE, phone_ok, re2=_phone_re2(_alternatives([
    f"0[1-9](?:[ /-]?[0-9]){{{PHONE_NATIONAL_DIGITS[0] - 2},{PHONE_NATIONAL_DIGITS[1] - 2}}}",
    "0" + _NATIONAL_DOTTED])))

_NUMBER_NOT_AFTER = r"\w.-"
SSN_SEPARATORS = "- "
US_SSN = Detector("US_SSN", _compile(r"[0-8]" + _not_after(_NUMBER_NOT_AFTER, 1) + r"""
    [0-9]{2}([""" + SSN_SEPARATORS + r"""])(?!00)[0-9]{2}\1(?!0000)[0-9]{4}
    (?![\w]|[.-][0-9])
"""), NUMBER_GATE, ssn_ok, re2=Re2(  # RE2 has no backreference: one form per separator
    _digit_strings_re2({area for area in _all_digits(3) if area[0] <= "8" and area not in SSN_INVALID_AREAS})
    + _alternatives([f"{sep}{_digit_strings_re2(set(_all_digits(2)) - {'00'})}{sep}" for sep in SSN_SEPARATORS])
    + _digit_strings_re2(set(_all_digits(4)) - {"0000"}), _NUMBER_NOT_AFTER, _RE2_END))


def _card_re2() -> str:
    """Every printed layout of CARD_GROUPINGS with each separator, longest first, and the unbroken run."""
    # The networks' prefixes (_CARD_PREFIX) as the first four digits can show them; Luhn is beyond RE2.
    start = _digit_strings_re2({digits for digits in _all_digits(4) if _CARD_PREFIX.match(digits)})
    layouts = sorted(CARD_GROUPINGS, key=lambda sizes: (-sum(sizes), -len(sizes)))
    forms = ["".join(f"{sep}[0-9]{{{size}}}" for size in sizes[1:]) for sep in CARD_SEPARATORS for sizes in layouts]
    return start + _alternatives(forms + [f"[0-9]{{{CARD_DIGITS[0] - 4},{CARD_DIGITS[-1] - 4}}}"])


CREDIT_CARD = Detector("CREDIT_CARD", _compile(r"[2-6]" + _not_after(_NUMBER_NOT_AFTER, 1) + r"""
    (?:[""" + CARD_SEPARATORS + r"""]?[0-9])""" + f"{{{CARD_DIGITS[0] - 1},{CARD_DIGITS[-1] - 1}}}" + r"""
    (?![\w]|[.-][0-9])
"""), NUMBER_GATE, measure=card_length, re2=Re2(_card_re2(), _NUMBER_NOT_AFTER, _RE2_END))


def _iban_re2() -> str:
    """Per country, its exact length (IBAN_LENGTHS), printed compact or in groups of four."""
    by_length: dict[int, list[str]] = {}
    for country, length in sorted(IBAN_LENGTHS.items()):
        by_length.setdefault(length, []).append(country)
    forms = []
    for length, countries in sorted(by_length.items(), reverse=True):
        groups, rest = divmod(length - 4, 4)
        tail = f"(?: ?[A-Z0-9]{{{rest}}})" if rest else ""
        forms.append(f"(?:{'|'.join(countries)})[0-9]{{2}}(?: ?[A-Z0-9]{{4}}){{{groups}}}{tail}")
    return _alternatives(forms)


IBAN = Detector("IBAN", _compile(r"[A-Z]" + _not_after(_WORD, 1) + r"""
    [A-Z][0-9]{2}(?:[ ]?[A-Z0-9]){11,30}
"""), DIGIT_GATE, measure=iban_length, re2=Re2(_iban_re2(), _WORD, _RE2_END))

IPV4 = Detector("IPV4", _compile(r"[0-9]" + _not_after(r"\w.", 1) + r"""
    [0-9]{0,2}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}   # octet values are checked by ipv4_ok
    (?![\w]|\.[0-9])
"""), NUMBER_GATE, ipv4_ok, re2=Re2(r"\.".join([_OCTET] * 4), r"\w.", _RE2_END))


def _ipv6_re2() -> str:
    """Every spelling of an IPv6 address, longest first (RE2 takes the first alternative that matches): eight
    groups, or `left::right` with at most seven groups around `::`; the bare `::` is left alone (ipv6_ok)."""
    group = _HEX4

    def side(count: int) -> str:
        return "" if count == 0 else group + (f"(?::{group}){{{count - 1}}}" if count > 1 else "")

    forms = [f"{group}(?::{group}){{7}}"]
    for total in range(7, 0, -1):
        forms += [f"{side(left)}::{side(total - left)}" for left in range(total, -1, -1)]
    return _alternatives(forms) + "(?:%[A-Za-z0-9]+)?"


IPV6 = Detector("IPV6", _compile(r"""
    (?<![\w:.])   # gated, so rarely run: a leading look-behind is fine here
    (?:[0-9A-Fa-f]{0,4}:){2,7}
    (?:[0-9A-Fa-f]{1,4}|(?:[0-9]{1,3}\.){3}[0-9]{1,3})?
    (?:%[A-Za-z0-9]+)?
    (?![\w:]|\.[0-9])
"""), IPV6_GATE, ipv6_ok, re2=Re2(_ipv6_re2(), r"\w:."))

_KEY = r"\w-"
_KEY_CHARS = "[A-Za-z0-9_-]"


def _key(name: str, prefix: str, body: str, triggers: tuple[str, ...] = (), not_after: str = _KEY,
         validate: Callable[[str], bool] | None = None, lookahead: str = "", end: str = "") -> Detector:
    """A secret that starts with a literal `prefix`: the Python pattern checks the boundary after the
    prefix (quick search), the RE2 form before it."""
    return Detector(name, _compile(prefix + _not_after(not_after, len(prefix)) + lookahead + body + end), triggers,
                    validate, re2=Re2(prefix + body, not_after, _RE2_END if end else ""))


# The three sk- keys share one gate, so it is checked once.
_SK = ("sk-",)
OPENROUTER_API_KEY = _key("OPENROUTER_API_KEY", "sk-or-", _KEY_CHARS + "{16,}", _SK, validate=openrouter_key_ok)
ANTHROPIC_API_KEY = _key("ANTHROPIC_API_KEY", "sk-ant-", _KEY_CHARS + "{16,}", _SK)
# RE2 cannot say "not sk-or-/sk-ant-": the collector runs this rule after theirs, so none is left by then.
OPENAI_API_KEY = _key("OPENAI_API_KEY", "sk-", "(?:proj-|svcacct-|admin-)?" + _KEY_CHARS + "{20,}", _SK,
                      lookahead="(?!or-|ant-)")
# No gates below: a pattern with a literal start is as quick to search for as a gate would be.
AWS_KEY_PREFIXES = ("AKIA", "ASIA", "ABIA", "ACCA", "AGPA", "AIDA", "AROA", "AIPA", "ANPA", "ANVA", "APKA")
AWS_ACCESS_KEY_ID = _key("AWS_ACCESS_KEY_ID", "A", "(?:" + "|".join(p[1:] for p in AWS_KEY_PREFIXES) + ")[A-Z0-9]{16}",
                         not_after="A-Za-z0-9", end="(?![A-Za-z0-9])")
GITHUB_TOKEN = _key("GITHUB_TOKEN", "gh", "[pousr]_[A-Za-z0-9]{36,255}", not_after=_WORD)
GITHUB_FINE_GRAINED_TOKEN = _key("GITHUB_TOKEN", "github_pat_", "[A-Za-z0-9_]{22,255}", not_after=_WORD)
SLACK_TOKEN = Detector("SLACK_TOKEN", _compile(
    r"xox" + _not_after(_KEY, 3) + r"[abposre]-[0-9]+-[A-Za-z0-9-]{10,} | hooks\.slack\.com/services/[A-Za-z0-9_/]{20,}"
), ("xox", "hooks.slack.com"),
    re2=Re2(r"xox[abposre]-[0-9]+-[A-Za-z0-9-]{10,}|hooks\.slack\.com/services/[A-Za-z0-9_/]{20,}"))
JWT = _key("JWT", "eyJ", r"[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*", ("eyJ",), validate=jwt_ok)
_TOKEN_CHARS = "[A-Za-z0-9._~+/=-]"
BEARER_TOKEN = Detector("BEARER_TOKEN", _compile(r"""
    (?i:bearer)[ \t]+(?P<token>[A-Za-z0-9._~+/=-]{7,}[A-Za-z0-9_~+/=-])   # a sentence's full stop is not part of it
"""), ("earer", "EARER"), bearer_ok, group="token",
    # bearer_ok as RE2: 16 or more token characters, or fewer that mix letters and digits.
    re2=Re2(r"(?i)(\bbearer[ \t]+)" + _alternatives([
        _TOKEN_CHARS + "{15,}[A-Za-z0-9_~+/=-]",
        f"{_TOKEN_CHARS}*(?:[0-9]{_TOKEN_CHARS}*[A-Za-z]|[A-Za-z]{_TOKEN_CHARS}*[0-9]){_TOKEN_CHARS}*"]),
        keeps_first_group=True))
_PRIVATE_KEY = (r"-----BEGIN[ A-Z0-9]*PRIVATE[ ]KEY(?:[ ]BLOCK)?-----"
                r"(?:[\s\S]*?-----END[ A-Z0-9]*PRIVATE[ ]KEY(?:[ ]BLOCK)?-----|[\s\S]*)")
PRIVATE_KEY = Detector("PRIVATE_KEY", _compile(_PRIVATE_KEY), re2=Re2(_PRIVATE_KEY))

# Order matters only for ties: where two detectors claim overlapping text, the earlier name is used.
BUILTIN_DETECTORS: tuple[Detector, ...] = (
    PRIVATE_KEY, OPENROUTER_API_KEY, ANTHROPIC_API_KEY, OPENAI_API_KEY, AWS_ACCESS_KEY_ID, GITHUB_TOKEN,
    GITHUB_FINE_GRAINED_TOKEN, SLACK_TOKEN, JWT, BEARER_TOKEN, EMAIL, IBAN, CREDIT_CARD, US_SSN,
    PHONE_INTERNATIONAL, PHONE_NORTH_AMERICAN, PHONE_NORTH_AMERICAN_TRUNK, PHONE_NATIONAL, IPV4, IPV6,
)



def re2_rules(detectors: tuple[Detector, ...] = BUILTIN_DETECTORS) -> dict[str, Re2]:
    """One RE2 rule per detector name, in the detectors' order: the forms of detectors sharing a name (PHONE,
    GITHUB_TOKEN) become one alternation, so the collector has one rule per `[REDACTED:<name>]`."""
    forms: dict[str, list[Re2]] = {}
    for detector in detectors:
        if detector.re2 is not None:
            forms.setdefault(detector.name, []).append(detector.re2)
    rules = {}
    for name, shapes in forms.items():
        first = shapes[0]
        assert all((shape.not_after, shape.end, shape.keeps_first_group)
                   == (first.not_after, first.end, first.keeps_first_group) for shape in shapes), name
        body = first.body if len(shapes) == 1 else "(?:" + "|".join(shape.body for shape in shapes) + ")"
        rules[name] = Re2(body, first.not_after, first.end, first.keeps_first_group)
    return rules


# Shapes of the ids telemetry is made of (generation ids, prompt hashes, trace and span ids, UUIDs): a
# value that is exactly one of these holds nothing to redact, which saves scanning the commonest values.
TELEMETRY_ID = re.compile(r"""
    gen-[0-9]{10}-[A-Za-z0-9]{20}
  | (?:hmac-)?sha256:[0-9a-f]{64}
  | (?=[0-9]*[a-f])(?:[0-9a-f]{16}|[0-9a-f]{32})
  | [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}
""", re.ASCII | re.VERBOSE)
