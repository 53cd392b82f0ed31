"""What counts as PII or a secret: one `Detector` per kind, each a pattern plus a validator.

Patterns find candidates; validators (Luhn, mod-97, address classes, JWT headers, digit counts) reject
look-alikes so that the ids, hashes, timestamps and numbers telemetry is made of pass through. All
patterns are ASCII-only (`re.ASCII`): text in any language around a value does not change what matches.

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
    for count in range(min(len(digits), 19), 12, -1):
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


_INFRASTRUCTURE_V4 = [ipaddress.ip_network(net) for net in (
    "0.0.0.0/8", "10.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16",
    "224.0.0.0/4", "255.255.255.255/32",
)]


def ipv4_ok(candidate: str) -> bool:
    """A public-facing address. Loopback, private, link-local and multicast addresses name machines,
    not people, and telemetry needs them (`server.address`); they are kept."""
    try:
        address = ipaddress.IPv4Address(candidate)
    except ValueError:
        return False
    return not any(address in network for network in _INFRASTRUCTURE_V4)


def ipv6_ok(candidate: str) -> bool:
    try:
        address = ipaddress.IPv6Address(candidate.split("%", 1)[0])
    except ValueError:
        return False
    mapped = address.ipv4_mapped
    if mapped is not None:
        return ipv4_ok(str(mapped))
    return not (address.is_loopback or address.is_unspecified or address.is_link_local
                or address.is_multicast or address.is_site_local or address in _ULA_V6)


_ULA_V6 = ipaddress.ip_network("fc00::/7")


def ssn_ok(candidate: str) -> bool:
    return not candidate.startswith(("000", "666"))


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


# The pattern starts at the "@" (a literal, so the search is quick) and finds the domain; the redactor
# extends the match to the left over `local_part` characters (see `Detector.local_part`).
EMAIL = Detector("EMAIL", _compile(r"""
    @(?<=[A-Za-z0-9._%+-]@)
    (?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}
    (?![A-Za-z0-9-])
"""), ("@",), email_domain_ok, local_part=frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._%+-"))

_PHONE_START = _not_after(r"\w+.:/-", 1)
_PHONE_END = r"(?![\w]|[.:/-][0-9])"
# Three patterns, each starting with one character class.
PHONE_INTERNATIONAL = Detector("PHONE", _compile(
    r"[+0]" + _PHONE_START + r"""
    (?:(?<=\+)|0)[1-9][0-9]{0,2} (?:[ .-]?(?:\([0-9]{1,5}\)|[0-9]{1,5})){1,6}   # +CC or 00CC, then groups
""" + _PHONE_END), NUMBER_GATE, phone_ok)
PHONE_NORTH_AMERICAN = Detector("PHONE", _compile(
    r"[(2-9]" + _PHONE_START + r"""
    (?:(?<=\()[2-9][0-9]{2}\)[ .-]?|(?<=[2-9])[0-9]{2}[ .-])[2-9][0-9]{2}[ .-][0-9]{4}  # (415) 555-0132
""" + _PHONE_END), NUMBER_GATE, phone_ok)
PHONE_NORTH_AMERICAN_TRUNK = Detector("PHONE", _compile(
    r"1" + _PHONE_START + r"""
    [ .-](?:\([2-9][0-9]{2}\)|[2-9][0-9]{2})[ .-][2-9][0-9]{2}[ .-][0-9]{4}   # 1-800-555-0197
""" + _PHONE_END), NUMBER_GATE, phone_ok)
PHONE_NATIONAL = Detector("PHONE", _compile(
    r"0" + _PHONE_START + r"""
    (?<![0-9][ ].)   # not the middle of spaced digit groups (a card, an IBAN)
    (?:[1-9][0-9]{0,4}(?:[ /-]?[0-9]{2,8}){1,5}   # trunk 0: 020 7946 0958, 06 12 34 56 78, 030/1234567
      |[1-9](?:\.[0-9]{2}){4})                    # 06.38.87.51.35
""" + _PHONE_END), NUMBER_GATE, phone_ok)

US_SSN = Detector("US_SSN", _compile(r"[0-8]" + _not_after(r"\w.-", 1) + r"""
    [0-9]{2}([- ])(?!00)[0-9]{2}\1(?!0000)[0-9]{4}
    (?![\w]|[.-][0-9])
"""), NUMBER_GATE, ssn_ok)

CREDIT_CARD = Detector("CREDIT_CARD", _compile(r"[2-6]" + _not_after(r"\w.-", 1) + r"""
    (?:[ -]?[0-9]){12,18}
    (?![\w]|[.-][0-9])
"""), NUMBER_GATE, measure=card_length)

IBAN = Detector("IBAN", _compile(r"[A-Z]" + _not_after(r"\w", 1) + r"""
    [A-Z][0-9]{2}(?:[ ]?[A-Z0-9]){11,30}
"""), DIGIT_GATE, measure=iban_length)

IPV4 = Detector("IPV4", _compile(r"[0-9]" + _not_after(r"\w.", 1) + r"""
    [0-9]{0,2}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}   # octet values are checked by ipv4_ok
    (?![\w]|\.[0-9])
"""), NUMBER_GATE, ipv4_ok)

IPV6 = Detector("IPV6", _compile(r"""
    (?<![\w:.])   # gated, so rarely run: a leading look-behind is fine here
    (?:[0-9A-Fa-f]{0,4}:){2,7}
    (?:[0-9A-Fa-f]{1,4}|(?:[0-9]{1,3}\.){3}[0-9]{1,3})?
    (?:%[A-Za-z0-9]+)?
    (?![\w:]|\.[0-9])
"""), IPV6_GATE, ipv6_ok)

_KEY = r"\w-"
# The three sk- keys share one gate, so it is checked once.
_SK = ("sk-",)
OPENROUTER_API_KEY = Detector("OPENROUTER_API_KEY", _compile(r"sk-or-" + _not_after(_KEY, 6) + r"[A-Za-z0-9_-]{16,}"), _SK,
                              openrouter_key_ok)
ANTHROPIC_API_KEY = Detector("ANTHROPIC_API_KEY", _compile(r"sk-ant-" + _not_after(_KEY, 7) + r"[A-Za-z0-9_-]{16,}"), _SK)
OPENAI_API_KEY = Detector("OPENAI_API_KEY", _compile(r"sk-" + _not_after(_KEY, 3) + r"""
    (?!or-|ant-)(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}
"""), _SK)
# No gates below: a pattern with a literal start is as quick to search for as a gate would be.
AWS_ACCESS_KEY_ID = Detector("AWS_ACCESS_KEY_ID", _compile(r"A" + _not_after(r"A-Za-z0-9", 1) + r"""
    (?:KIA|SIA|BIA|CCA|GPA|IDA|ROA|IPA|NPA|NVA|PKA)[A-Z0-9]{16}(?![A-Za-z0-9])
"""))
GITHUB_TOKEN = Detector("GITHUB_TOKEN", _compile(r"gh" + _not_after(_WORD, 2) + r"[pousr]_[A-Za-z0-9]{36,255}"))
GITHUB_FINE_GRAINED_TOKEN = Detector("GITHUB_TOKEN", _compile(
    r"github_pat_" + _not_after(_WORD, 11) + r"[A-Za-z0-9_]{22,255}"))
SLACK_TOKEN = Detector("SLACK_TOKEN", _compile(
    r"xox" + _not_after(_KEY, 3) + r"[abposre]-[0-9]+-[A-Za-z0-9-]{10,} | hooks\.slack\.com/services/[A-Za-z0-9_/]{20,}"
), ("xox", "hooks.slack.com"))
JWT = Detector("JWT", _compile(r"eyJ" + _not_after(_KEY, 3) + r"[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"),
               ("eyJ",), jwt_ok)
BEARER_TOKEN = Detector("BEARER_TOKEN", _compile(r"""
    (?i:bearer)[ \t]+(?P<token>[A-Za-z0-9._~+/=-]{7,}[A-Za-z0-9_~+/=-])   # a sentence's full stop is not part of it
"""), ("earer", "EARER"), bearer_ok, group="token")
PRIVATE_KEY = Detector("PRIVATE_KEY", _compile(r"""
    -----BEGIN[ A-Z0-9]*PRIVATE[ ]KEY(?:[ ]BLOCK)?-----
    (?:[\s\S]*?-----END[ A-Z0-9]*PRIVATE[ ]KEY(?:[ ]BLOCK)?-----|[\s\S]*)
"""))

# Order matters only for ties: where two detectors claim overlapping text, the earlier name is used.
BUILTIN_DETECTORS: tuple[Detector, ...] = (
    PRIVATE_KEY, OPENROUTER_API_KEY, ANTHROPIC_API_KEY, OPENAI_API_KEY, AWS_ACCESS_KEY_ID, GITHUB_TOKEN,
    GITHUB_FINE_GRAINED_TOKEN, SLACK_TOKEN, JWT, BEARER_TOKEN, EMAIL, IBAN, CREDIT_CARD, US_SSN,
    PHONE_INTERNATIONAL, PHONE_NORTH_AMERICAN, PHONE_NORTH_AMERICAN_TRUNK, PHONE_NATIONAL, IPV4, IPV6,
)

# Shapes of the ids telemetry is made of (generation ids, prompt hashes, trace and span ids, UUIDs): a
# value that is exactly one of these holds nothing to redact, which saves scanning the commonest values.
TELEMETRY_ID = re.compile(r"""
    gen-[0-9]{10}-[A-Za-z0-9]{20}
  | (?:hmac-)?sha256:[0-9a-f]{64}
  | (?=[0-9]*[a-f])(?:[0-9a-f]{16}|[0-9a-f]{32})
  | [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}
""", re.ASCII | re.VERBOSE)
