"""Writes the labelled PII corpus, `positives.jsonl` and `negatives.jsonl`, deterministically (fixed seed).

    .venv/bin/python -m tests.pii_corpus.generate     # rewrites both files next to this one

`render()` returns the files' contents; tests/test_redaction_corpus.py checks that the committed files are
exactly what it returns. Standard library only and no `openrouter_otel` import, on purpose: every value is
built from its format's own rules (Luhn and ISO 13616 mod-97 check digits computed here, numbering plans,
address ranges, the vendors' key layouts), so the corpus checks the detectors instead of restating them.

Schema: one JSON object per line, UTF-8, keys in this order.

positives.jsonl  {"id": "email-001", "lang": "de", "text": "...", "values": [{"type": "EMAIL", "value": "..."}]}
    `values` lists every piece of PII in `text` (one or more; each value occurs exactly once in `text`) with
    the built-in detector name that should replace it. A redactor should replace exactly those substrings,
    each with `[REDACTED:<type>]`, and change nothing else.
negatives.jsonl  {"id": "luhn_fail_card-001", "kind": "luhn_fail_card", "lang": "en", "text": "..."}
    `text` holds no PII; a redactor should return it unchanged.

Labelling conventions:
- BEARER_TOKEN: the value is the token after "Bearer ", not the scheme.
- SLACK_TOKEN webhooks: the value is `hooks.slack.com/services/...`; the "https://" before it is no secret.
- Overlaps, labelled with the type the redactor names for both findings together: a key or JWT sent as a
  bearer token ("Authorization: Bearer sk-or-v1-...") is its key type or JWT; an IPv4-mapped IPv6 address
  ("::ffff:203.0.113.9") is IPV4.
- IP addresses of every range are PII in prose (a private address names a user's machine inside a corporate
  network, a link-local EUI-64 address embeds a MAC): private, loopback and link-local ones too. The bare
  `::` is syntax more often than an address and is a look-alike.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import random
import re
import string
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

SEED = 20260217
HERE = Path(__file__).resolve().parent
POSITIVES_FILE = HERE / "positives.jsonl"
NEGATIVES_FILE = HERE / "negatives.jsonl"

DIGITS = string.digits
UPPER = string.ascii_uppercase
ALNUM = string.ascii_letters + string.digits
URLSAFE = ALNUM + "_-"
HEX = "0123456789abcdef"

Rng = random.Random


def chars(rng: Rng, alphabet: str, count: int) -> str:
    return "".join(rng.choices(alphabet, k=count))


def fill(rng: Rng, pattern: str) -> str:
    """`#` becomes a digit, `N` a digit 2-9, `H` a hex digit; other characters are kept."""
    alphabets = {"#": DIGITS, "N": "23456789", "H": HEX}
    return "".join(rng.choice(alphabets[ch]) if ch in alphabets else ch for ch in pattern)


def group(number: str, sizes: tuple[int, ...], separator: str) -> str:
    parts, start = [], 0
    for size in sizes:
        parts.append(number[start:start + size])
        start += size
    return separator.join(parts)


# --- check digits, computed independently of the package ----------------------------------------

def luhn_check_digit(payload: str) -> str:
    total = 0
    for position, char in enumerate(reversed(payload)):
        digit = int(char)
        if position % 2 == 0:  # doubled: every second digit counting from the check digit
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return str(-total % 10)


def luhn_valid(number: str) -> bool:
    return luhn_check_digit(number[:-1]) == number[-1]


def iban_number(text: str) -> int:
    return int("".join(str(int(char, 36)) for char in text))


def iban_check_digits(country: str, bban: str) -> str:
    return f"{98 - iban_number(bban + country + '00') % 97:02d}"


def iban_valid(iban: str) -> bool:
    compact = iban.replace(" ", "")
    return iban_number(compact[4:] + compact[:4]) % 97 == 1


# --- value makers: (rng, lang, index) -> value; `index` counts the calls per placeholder (and per language
# for the makers in LANGUAGE_SPECIFIC, which pick that language's formats in turn) ---

FIRST_NAMES = ["anna", "max", "jean", "marie", "jose", "lucia", "taro", "yuki", "joao", "beatriz", "giulia",
               "pieter", "wei", "minji", "john", "emily", "francois", "carmen"]
LAST_NAMES = ["schmidt", "mueller", "dupont", "lefebvre", "garcia", "fernandez", "yamada", "sato", "silva",
              "santos", "rossi", "devries", "wang", "kim", "doe", "clarke", "moreau", "ortega"]
EMAIL_DOMAINS = {
    "en": ["example.com", "gmail.com", "mail.example.org", "cs.example.ac.uk"],
    "de": ["beispiel.de", "web.de", "firma-gmbh.de", "posteo.de"],
    "fr": ["exemple.fr", "orange.fr", "laposte.net"],
    "es": ["ejemplo.es", "hotmail.es", "correo.example.mx"],
    "ja": ["example.co.jp", "yahoo.co.jp", "docomo.ne.jp"],
    "pt": ["exemplo.com.br", "uol.com.br", "sapo.pt"],
    "it": ["esempio.it", "libero.it"], "nl": ["voorbeeld.nl"], "zh": ["example.cn", "qq.com"], "ko": ["naver.com"],
}


def email(rng: Rng, lang: str, index: int) -> str:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    local = [f"{first}.{last}", f"{first}{last}{rng.randrange(10, 99)}", f"{first[0]}{last}", f"{first}+invoices",
             f"{first}-{last}", f"{first}_{last}", f"{first.title()}.{last.title()}"][rng.randrange(7)]
    return f"{local}@{rng.choice(EMAIL_DOMAINS[lang])}"


# Subscriber numbers from ranges reserved for drama/fiction where a country has them (555-01xx, 07700 900xxx).
PHONE_FORMATS = {
    "en": ["(415) 555-01##", "212-555-01##", "+1 646 555 01##", "+1-312-555-01##", "617.555.01##",
           "+1 (206) 555-01##", "020 7946 0###", "+44 20 7946 0###", "07700 900###", "+44 7700 900###",
           "+1415555015#", "1-800-555-01##"],
    "de": ["030 N######", "030/N######", "+49 30 N#######", "0171 N######", "+49 171 N######",
           "+49 (0)89 N######", "0049 40 N#######", "+49151N#######", "089 N## ### ##"],
    "fr": ["06 ## ## ## ##", "+33 6 ## ## ## ##", "01 ## ## ## ##", "+33 1 ## ## ## ##", "+336########",
           "07 ## ## ## ##", "06.##.##.##.##"],
    "es": ["+34 6## ### ###", "+34 91 ### ## ##", "0034 6## ### ###", "+34 93 ### ## ##"],
    "ja": ["090-####-####", "03-N###-####", "+81 90-####-####", "+81 3 N### ####", "080-####-####", "06-N###-####"],
    "pt": ["+351 91# ### ###", "+351 21 ### ####", "+55 11 9####-####", "+55 21 N###-####"],
    "it": ["+39 06 #### ####", "+39 347 ### ####", "02 #### ####"],
    "nl": ["+31 6 ########", "06-########", "020 ### ####"],
    "zh": ["+86 138 #### ####"], "ko": ["+82 10-N###-####", "010-N###-####"],
}


def phone(rng: Rng, lang: str, index: int) -> str:
    formats = PHONE_FORMATS[lang]
    return fill(rng, formats[index % len(formats)])


def us_ssn(rng: Rng, lang: str, index: int) -> str:
    area = rng.choice([a for a in range(1, 900) if a != 666])
    return f"{area:03d}{'- '[index % 2]}{rng.randrange(1, 100):02d}{'- '[index % 2]}{rng.randrange(1, 10000):04d}"


CARD_NETWORKS = [  # (issuer prefixes, length, digit groups)
    (["4"], 16, (4, 4, 4, 4)),                             # Visa
    (["51", "52", "53", "54", "55"], 16, (4, 4, 4, 4)),    # Mastercard
    (["34", "37"], 15, (4, 6, 5)),                         # American Express
    (["2221", "2300", "2450", "2599", "2720"], 16, (4, 4, 4, 4)),  # Mastercard 2-series
    (["6011", "65", "644", "649"], 16, (4, 4, 4, 4)),      # Discover
    (["3528", "3530", "3566", "3589"], 16, (4, 4, 4, 4)),  # JCB
    (["36", "300", "305", "38"], 14, (4, 6, 4)),           # Diners Club
    (["62"], 16, (4, 4, 4, 4)),                            # UnionPay
    (["4"], 13, (13,)),                                    # Visa, 13 digits
    (["5018", "5020", "6759", "6304"], 16, (4, 4, 4, 4)),  # Maestro
    (["62", "6759"], 19, (4, 4, 4, 4, 3)),                 # UnionPay / Maestro, 19 digits
]


def card_digits(rng: Rng, network: int) -> tuple[str, tuple[int, ...]]:
    prefixes, length, groups = CARD_NETWORKS[network % len(CARD_NETWORKS)]
    prefix = rng.choice(prefixes)
    number = prefix + chars(rng, DIGITS, length - len(prefix) - 1)
    return number + luhn_check_digit(number), groups


def credit_card(rng: Rng, lang: str, index: int) -> str:
    number, groups = card_digits(rng, rng.randrange(len(CARD_NETWORKS)))
    assert luhn_valid(number)
    return group(number, groups, ["", " ", "-", " "][index % 4])


IBAN_LAYOUTS = {  # BBAN layout per country (ISO 13616 registry): n digits, a capital letters, c either
    "DE": "8n10n", "AT": "5n11n", "CH": "5n12c", "FR": "5n5n11c2n", "BE": "3n7n2n", "LU": "3n13c",
    "ES": "4n4n1n1n10n", "PT": "4n4n11n2n", "BR": "8n5n10n1a1c", "IT": "1a5n5n12c", "NL": "4a10n",
    "GB": "4a6n8n", "IE": "4a6n8n", "PL": "8n16n", "NO": "4n6n1n", "SE": "3n16n1n",
}
IBAN_COUNTRIES = {"de": ["DE", "AT", "CH"], "fr": ["FR", "BE", "LU"], "es": ["ES"], "pt": ["PT", "BR"],
                  "it": ["IT"], "nl": ["NL"], "en": ["GB", "IE", "PL", "NO", "SE"], "ja": ["DE", "FR", "GB"]}


def iban_compact(rng: Rng, country: str) -> str:
    alphabets = {"n": DIGITS, "a": UPPER, "c": UPPER + DIGITS}
    bban = "".join(chars(rng, alphabets[kind], int(count))
                   for count, kind in re.findall(r"(\d+)([nac])", IBAN_LAYOUTS[country]))
    return country + iban_check_digits(country, bban) + bban


def print_iban(compact: str, grouped: bool) -> str:
    return " ".join(compact[i:i + 4] for i in range(0, len(compact), 4)) if grouped else compact


def iban(rng: Rng, lang: str, index: int) -> str:
    countries = IBAN_COUNTRIES[lang]
    compact = iban_compact(rng, countries[index % len(countries)])
    assert iban_valid(compact)
    return print_iban(compact, grouped=index % 2 == 0)


PUBLIC_V4_KNOWN = ["8.8.8.8", "1.1.1.1", "9.9.9.9", "151.101.1.69", "185.199.108.153", "140.82.121.4",
                   "93.184.216.34", "104.16.132.229", "52.95.110.1", "133.242.0.3", "200.147.67.142"]
PUBLIC_V4_FIRST_OCTETS = [3, 8, 13, 23, 31, 34, 35, 46, 52, 54, 62, 77, 81, 85, 88, 91, 93, 95, 104, 109, 126,
                          133, 151, 176, 177, 185, 188, 193, 200, 201, 203, 212, 213, 217]


def ipv4(rng: Rng, lang: str, index: int) -> str:
    kind = index % 3
    if kind == 0:
        return f"{rng.choice(['192.0.2', '198.51.100', '203.0.113'])}.{rng.randrange(1, 255)}"
    if kind == 1:
        return rng.choice(PUBLIC_V4_KNOWN)
    return f"{rng.choice(PUBLIC_V4_FIRST_OCTETS)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


PUBLIC_V6_KNOWN = ["2606:4700:4700::1111", "2001:4860:4860::8888", "2620:fe::fe", "2a00:1450:4001:82b::200e",
                   "2a03:2880:f12f:83:face:b00c:0:25de"]


def ipv6(rng: Rng, lang: str, index: int) -> str:
    kind = index % 4
    if kind == 0:
        return str(ipaddress.IPv6Address(fill(rng, "2001:0db8:HHHH:HHHH:0000:0000:0000:HHHH")))
    if kind == 1:
        return rng.choice(["2a02", "2600", "2804", "240d", "2a01"]) + fill(rng, ":HHHH" * 7)
    if kind == 2:
        return rng.choice(PUBLIC_V6_KNOWN)
    return str(ipaddress.IPv6Address(fill(rng, "2001:0db8:0000:HHHH:0000:0000:HHHH:HHHH"))).upper()


def ipv4_mapped(rng: Rng, lang: str, index: int) -> str:
    """An IPv4 address in IPv6 notation: it is the IPv4 address, so it is labelled IPV4."""
    return f"::ffff:{ipv4(rng, lang, 0)}"


def private_ipv4(rng: Rng, lang: str, index: int) -> str:
    return PRIVATE_V4[index % len(PRIVATE_V4)]


def private_ipv6(rng: Rng, lang: str, index: int) -> str:
    return PRIVATE_V6[index % len(PRIVATE_V6)]


def openrouter_key(rng: Rng, lang: str, index: int) -> str:
    return "sk-or-v1-" + chars(rng, HEX, 64)


def openai_key(rng: Rng, lang: str, index: int) -> str:
    kind = index % 4
    if kind == 0:
        return "sk-" + chars(rng, ALNUM, 20) + "T3BlbkFJ" + chars(rng, ALNUM, 20)
    if kind == 1:
        return "sk-proj-" + chars(rng, URLSAFE, 124) + "T3BlbkFJ" + chars(rng, URLSAFE, 24)
    prefix = "sk-svcacct-" if kind == 2 else "sk-admin-"
    return prefix + chars(rng, URLSAFE, 64) + "T3BlbkFJ" + chars(rng, URLSAFE, 24)


def anthropic_key(rng: Rng, lang: str, index: int) -> str:
    return ("sk-ant-api03-" if index % 3 else "sk-ant-admin01-") + chars(rng, URLSAFE, 93) + "AA"


def aws_access_key_id(rng: Rng, lang: str, index: int) -> str:
    return ("AKIA" if index % 3 else "ASIA") + chars(rng, UPPER + "234567", 16)


def github_token(rng: Rng, lang: str, index: int) -> str:
    if index % 6 == 5:
        return "github_pat_" + chars(rng, ALNUM, 22) + "_" + chars(rng, ALNUM, 59)
    return ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"][index % 6] + chars(rng, ALNUM, 36)


def slack_token(rng: Rng, lang: str, index: int) -> str:
    if index % 3 == 0:
        return f"xoxb-{chars(rng, DIGITS, 12)}-{chars(rng, DIGITS, 13)}-{chars(rng, ALNUM, 24)}"
    if index % 3 == 1:
        return f"xoxp-{chars(rng, DIGITS, 12)}-{chars(rng, DIGITS, 12)}-{chars(rng, DIGITS, 13)}-{chars(rng, HEX, 32)}"
    return f"xoxa-2-{chars(rng, DIGITS, 12)}-{chars(rng, DIGITS, 13)}-{chars(rng, HEX, 64)}"


def slack_webhook(rng: Rng, lang: str, index: int) -> str:
    workspace, channel = chars(rng, UPPER + DIGITS, 8), chars(rng, UPPER + DIGITS, 10)
    return f"hooks.slack.com/services/T{workspace}/B{channel}/{chars(rng, ALNUM, 24)}"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(rng: Rng, lang: str, index: int) -> str:
    header = [{"alg": "HS256", "typ": "JWT"}, {"alg": "RS256", "kid": chars(rng, HEX, 16)},
              {"typ": "JWT", "alg": "ES256"}][index % 3]
    issued = 1_700_000_000 + rng.randrange(100_000_000)
    payload = {"sub": str(rng.randrange(10**9)), "name": rng.choice(FIRST_NAMES).title(), "iat": issued,
               "exp": issued + 3600}
    signature = rng.randbytes([32, 256, 64][index % 3])
    return ".".join(b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, payload)) \
        + "." + b64url(signature)


def bearer_token(rng: Rng, lang: str, index: int) -> str:
    kind = index % 4
    if kind == 0:
        return chars(rng, ALNUM, 40)
    if kind == 1:  # Google OAuth access token: "_" and "-" are legal token characters (RFC 6750 b64token)
        return "ya29.a0" + chars(rng, ALNUM, 12) + "_" + chars(rng, URLSAFE, 90)
    if kind == 2:
        return base64.b64encode(rng.randbytes(30)).decode()
    return f"{chars(rng, ALNUM, 22)}.{chars(rng, ALNUM, 30)}-{chars(rng, ALNUM, 12)}"


PEM_LEADS = {  # the DER bytes each kind of key starts with, so that the first line looks like the real thing
    "RSA PRIVATE KEY": bytes.fromhex("308204a40201000282010100"),
    "PRIVATE KEY": bytes.fromhex("308204bd020100300d06092a864886f70d0101010500048204a7"),
    "EC PRIVATE KEY": bytes.fromhex("307702010104"),
    "OPENSSH PRIVATE KEY": b"openssh-key-v1\x00",
    "ENCRYPTED PRIVATE KEY": bytes.fromhex("308205"),
    "DSA PRIVATE KEY": bytes.fromhex("308201bb02010002818100"),
}


PRIVATE_KEY_LABELS = [*PEM_LEADS, "PGP PRIVATE KEY BLOCK"]


def pem_block(rng: Rng, label: str, lines: int, newline: str = "\n") -> str:
    body = base64.b64encode(PEM_LEADS.get(label, b"") + rng.randbytes(48 * lines)).decode()
    rows = [body[i:i + 64] for i in range(0, len(body), 64)]
    if label.startswith("PGP"):
        rows = ["", *rows, "=" + chars(rng, ALNUM, 4)]
    return newline.join([f"-----BEGIN {label}-----", *rows, f"-----END {label}-----"])


def private_key(rng: Rng, lang: str, index: int) -> str:
    return pem_block(rng, PRIVATE_KEY_LABELS[index % len(PRIVATE_KEY_LABELS)], lines=6 + index % 5)


def private_key_in_json(rng: Rng, lang: str, index: int) -> str:
    """As in a service-account JSON file: the newlines are written as the two characters \\n."""
    return pem_block(rng, "PRIVATE KEY", lines=8, newline="\\n")


PLACEHOLDERS: dict[str, tuple[str, Callable[[Rng, str, int], str]]] = {
    "EMAIL": ("EMAIL", email), "PHONE": ("PHONE", phone), "US_SSN": ("US_SSN", us_ssn),
    "CREDIT_CARD": ("CREDIT_CARD", credit_card), "IBAN": ("IBAN", iban), "IPV4": ("IPV4", ipv4),
    "IPV4_MAPPED": ("IPV4", ipv4_mapped), "IPV6": ("IPV6", ipv6),
    "PRIVATE_IPV4": ("IPV4", private_ipv4), "PRIVATE_IPV6": ("IPV6", private_ipv6),
    "OPENROUTER_API_KEY": ("OPENROUTER_API_KEY", openrouter_key), "OPENAI_API_KEY": ("OPENAI_API_KEY", openai_key),
    "ANTHROPIC_API_KEY": ("ANTHROPIC_API_KEY", anthropic_key),
    "AWS_ACCESS_KEY_ID": ("AWS_ACCESS_KEY_ID", aws_access_key_id), "GITHUB_TOKEN": ("GITHUB_TOKEN", github_token),
    "SLACK_TOKEN": ("SLACK_TOKEN", slack_token), "SLACK_WEBHOOK": ("SLACK_TOKEN", slack_webhook),
    "JWT": ("JWT", jwt), "BEARER_TOKEN": ("BEARER_TOKEN", bearer_token),
    "PRIVATE_KEY": ("PRIVATE_KEY", private_key), "PRIVATE_KEY_JSON": ("PRIVATE_KEY", private_key_in_json),
}
LANGUAGE_SPECIFIC = {"PHONE", "IBAN"}

# --- positive prompts: per detector, (samples, templates); the templates are used in turn ----------------

POSITIVE_TEMPLATES: dict[str, tuple[int, list[tuple[str, str]]]] = {
    "EMAIL": (36, [
        ("en", "Please send the signed contract to {EMAIL} before Friday."),
        ("de", "Bitte schreib an {EMAIL} und frag nach dem Liefertermin."),
        ("fr", "Peux-tu répondre à {EMAIL} ? Merci d'avance."),
        ("es", "¿Puedes escribir a {EMAIL}? Gracias."),
        ("ja", "メールは{EMAIL}です。よろしくお願いします。"),
        ("pt", "Meu e-mail é {EMAIL}, pode me mandar a fatura?"),
        ("zh", "请把报告发到{EMAIL}，谢谢！"),
        ("it", "Scrivimi a «{EMAIL}» per i dettagli."),
        ("de", "Kontakt (E-Mail: {EMAIL}) – bitte vertraulich behandeln."),
        ("en", 'Draft a reply to this JSON: {"from": "{EMAIL}", "subject": "Invoice #4821"}'),
        ("ko", "제 이메일은 {EMAIL}입니다."),
        ("fr", "Écris à « {EMAIL} » avant lundi, c'est urgent."),
    ]),
    "PHONE": (64, [  # 4 rounds: every language's formats come up (PHONE_FORMATS)
        ("en", "Call me at {PHONE} after 5pm, I'm in meetings until then."),
        ("de", "Meine Nummer: {PHONE}. Ruf bitte nur abends an."),
        ("fr", "Mon numéro, c'est le {PHONE} – rappelle-moi demain."),
        ("es", "Mi teléfono es {PHONE}, llámame mañana."),
        ("ja", "電話番号は{PHONE}です。"),
        ("pt", "Meu celular: {PHONE}, também tem WhatsApp."),
        ("en", "Customer note: 'reach me on {PHONE}' – add it to the ticket."),
        ("de", "Rückruf erbeten unter {PHONE}, danke!"),
        ("it", "Il mio numero è {PHONE}, chiamami pure."),
        ("nl", "Bel me op {PHONE}!"),
        ("zh", "我的电话是{PHONE}。"),
        ("ko", "제 전화번호는 {PHONE}입니다."),
        ("fr", "Tél. : {PHONE}"),
        ("en", "Summarise the voicemail from {PHONE}."),
        ("de", "Kontakt (Tel. {PHONE}) bitte in die Signatur übernehmen."),
        ("ja", "連絡先：{PHONE}（平日のみ）"),
    ]),
    "US_SSN": (18, [
        ("en", "My SSN is {US_SSN}, please fill in the W-9 for me."),
        ("en", "Applicant: John Doe, SSN: {US_SSN}; DOB: 1984-03-12"),
        ("es", "Mi número de Seguro Social es {US_SSN}."),
        ("de", "Die US-Sozialversicherungsnummer des Mitarbeiters lautet {US_SSN}."),
        ("fr", "Numéro de sécurité sociale américain : {US_SSN}."),
        ("ja", "米国社会保障番号：{US_SSN}"),
        ("pt", "O SSN dele é {US_SSN}, confirma?"),
        ("en", "Fill the form: name=Jane Roe, ssn={US_SSN}, state=CA"),
        ("en", "Is {US_SSN} a valid social security number?"),
    ]),
    "CREDIT_CARD": (40, [
        ("en", "Charge my card {CREDIT_CARD}, exp 09/27, CVC 123."),
        ("de", "Meine Kreditkartennummer ist {CREDIT_CARD}, gültig bis 11/26."),
        ("fr", "Ma carte bancaire : {CREDIT_CARD}. Peux-tu vérifier le paiement ?"),
        ("es", "Tarjeta: {CREDIT_CARD} (la de empresa), vence 03/28."),
        ("ja", "カード番号は{CREDIT_CARD}です。"),
        ("pt", "Número do cartão: {CREDIT_CARD}; validade 08/29."),
        ("it", "Paga con la carta {CREDIT_CARD} per favore."),
        ("en", "The customer pasted {CREDIT_CARD} into the chat — is that safe?"),
        ("zh", "信用卡号：{CREDIT_CARD}，请帮我查账单。"),
        ("de", "„{CREDIT_CARD}“ – ist das eine gültige Karte?"),
    ]),
    "IBAN": (40, [
        ("de", "Bitte überweise die Miete auf {IBAN} (Sparkasse)."),
        ("de", "IBAN: {IBAN}, BIC: COBADEFFXXX"),
        ("fr", "Mon IBAN est {IBAN}, merci de faire le virement."),
        ("es", "Transfiere el dinero a la cuenta {IBAN}."),
        ("pt", "IBAN {IBAN} – titular: João Silva"),
        ("en", "Wire the refund to IBAN {IBAN}."),
        ("it", "Il mio IBAN è {IBAN}."),
        ("nl", "Maak het bedrag over naar {IBAN}."),
        ("ja", "振込先IBAN：{IBAN}"),
        ("en", "Can you check whether {IBAN} is a valid account number?"),
    ]),
    "IPV4": (26, [
        ("en", "The login came from {IPV4}, is that in Germany?"),
        ("de", "Der Server {IPV4} antwortet nicht mehr."),
        ("fr", "Connexion suspecte depuis l'adresse {IPV4} à 03h12."),
        ("es", "Bloquea la IP {IPV4} en el firewall."),
        ("ja", "アクセス元IPは{IPV4}でした。"),
        ("pt", "O IP do cliente é {IPV4}."),
        ("en", "X-Forwarded-For: {IPV4}, {PRIVATE_IPV4}"),
        ("en", 'nginx: {IPV4} - - [12/May/2024:10:30:00 +0200] "GET / HTTP/1.1" 200 512'),
        ("zh", "用户IP：{IPV4}"),
        ("de", "Zugriff von {IPV4}:443 blockieren?"),
        ("en", "The dual-stack socket reports the peer as {IPV4_MAPPED}, not as a plain IPv4 address."),
        ("ja", "接続元は{IPV4_MAPPED}（IPv4射影アドレス）です。"),
    ]),
    "IPV6": (24, [
        ("en", "Requests from {IPV6} keep failing."),
        ("de", "Die IPv6-Adresse des Kunden ist {IPV6}, bitte prüfen."),
        ("fr", "Adresse IPv6 : {IPV6}"),
        ("es", "La IPv6 del usuario era {IPV6} ayer."),
        ("ja", "IPv6アドレス：{IPV6}です"),
        ("pt", "Cliente conectou de {IPV6} às 14h."),
        ("en", "curl -6 http://[{IPV6}]:8080/health"),
        ("en", "Ban this address: {IPV6}."),
        ("de", "Der Zugriff kam von {IPV6}."),
    ]),
    "PRIVATE_IPV4": (16, [
        ("en", "My laptop's address is {PRIVATE_IPV4}, can you see why the VPN drops?"),
        ("de", "Der Container hört auf {PRIVATE_IPV4}:8080."),
        ("fr", "Passerelle par défaut : {PRIVATE_IPV4}"),
        ("ja", "社内サーバー{PRIVATE_IPV4}に接続できません"),
    ]),
    "PRIVATE_IPV6": (11, [
        ("en", "listening on [{PRIVATE_IPV6}]:8443"),
        ("de", "Link-lokale Adresse {PRIVATE_IPV6} ignorieren"),
        ("es", "La interfaz tiene {PRIVATE_IPV6} configurada."),
    ]),
    "OPENROUTER_API_KEY": (14, [
        ("en", "Here is my OpenRouter key {OPENROUTER_API_KEY}, why does it return 401?"),
        ("en", "export OPENROUTER_API_KEY={OPENROUTER_API_KEY}"),
        ("de", "Mein API-Schlüssel lautet {OPENROUTER_API_KEY} – funktioniert der noch?"),
        ("ja", "APIキーは{OPENROUTER_API_KEY}です。"),
        ("fr", "Clé OpenRouter : {OPENROUTER_API_KEY}"),
        ("es", 'client = OpenAI(base_url="https://openrouter.ai/api/v1", api_key="{OPENROUTER_API_KEY}")'),
        ("pt", "Usei a chave {OPENROUTER_API_KEY} e deu erro 402."),
        ("en", 'curl https://openrouter.ai/api/v1/models -H "Authorization: Bearer {OPENROUTER_API_KEY}"'),
    ]),
    "OPENAI_API_KEY": (15, [
        ("en", "My OpenAI key {OPENAI_API_KEY} stopped working, what happened?"),
        ("en", "OPENAI_API_KEY={OPENAI_API_KEY}"),
        ("de", "Der Schlüssel {OPENAI_API_KEY} steht im Code, ist das schlimm?"),
        ("ja", "OpenAIのキー「{OPENAI_API_KEY}」を使っています。"),
        ("fr", "openai.api_key = '{OPENAI_API_KEY}'"),
        ("es", "Mi clave es {OPENAI_API_KEY}; ¿por qué da 429?"),
        ("pt", "chave: {OPENAI_API_KEY}"),
    ]),
    "ANTHROPIC_API_KEY": (12, [
        ("en", "Anthropic(api_key=\"{ANTHROPIC_API_KEY}\") raises AuthenticationError"),
        ("de", "ANTHROPIC_API_KEY={ANTHROPIC_API_KEY} in der .env – reicht das?"),
        ("ja", "Claudeのキーは{ANTHROPIC_API_KEY}です"),
        ("fr", "Ma clé Anthropic est {ANTHROPIC_API_KEY}."),
        ("es", "x-api-key: {ANTHROPIC_API_KEY}"),
        ("pt", "Usei {ANTHROPIC_API_KEY} no header e falhou."),
    ]),
    "AWS_ACCESS_KEY_ID": (14, [
        ("en", "AWS_ACCESS_KEY_ID={AWS_ACCESS_KEY_ID} aws s3 ls returns AccessDenied"),
        ("de", "Der Zugriffsschlüssel {AWS_ACCESS_KEY_ID} wurde im Repo gefunden!"),
        ("ja", "アクセスキーID：{AWS_ACCESS_KEY_ID}"),
        ("fr", "Ma clé d'accès AWS est {AWS_ACCESS_KEY_ID}."),
        ("es", "La clave {AWS_ACCESS_KEY_ID} ya no funciona."),
        ("pt", '"AccessKeyId": "{AWS_ACCESS_KEY_ID}",'),
        ("en", "[default]\naws_access_key_id = {AWS_ACCESS_KEY_ID}\nregion = eu-central-1"),
    ]),
    "GITHUB_TOKEN": (15, [
        ("en", "GITHUB_TOKEN={GITHUB_TOKEN} fails in the workflow with 403"),
        ("de", "Hier mein Token: {GITHUB_TOKEN} – warum 403?"),
        ("ja", "トークン{GITHUB_TOKEN}を使っています"),
        ("fr", "Le jeton {GITHUB_TOKEN} a expiré ?"),
        ("es", "Configuré gh auth con {GITHUB_TOKEN}."),
        ("pt", "token: {GITHUB_TOKEN}"),
        ("en", "headers = {'Authorization': 'token {GITHUB_TOKEN}'}"),
    ]),
    "SLACK_TOKEN": (14, [
        ("en", "SLACK_BOT_TOKEN={SLACK_TOKEN}"),
        ("de", "Poste die Warnung an https://{SLACK_WEBHOOK} bitte."),
        ("ja", "Slackのトークンは{SLACK_TOKEN}です"),
        ("fr", "Webhook Slack : https://{SLACK_WEBHOOK}"),
        ("es", "El bot usa {SLACK_TOKEN} y no puede publicar."),
        ("pt", "curl -X POST -d '{\"text\":\"oi\"}' https://{SLACK_WEBHOOK}"),
        ("en", "slack_sdk.WebClient(token='{SLACK_TOKEN}')"),
    ]),
    "JWT": (14, [
        ("en", "My session cookie is {JWT}, can you decode it?"),
        ("de", "Dekodiere bitte dieses Token: {JWT}"),
        ("ja", "このJWT「{JWT}」の有効期限は？"),
        ("fr", "https://app.example.com/callback#id_token={JWT}&state=xyz"),
        ("es", "El token {JWT} no valida la firma."),
        ("pt", "Authorization: Bearer {JWT}"),
        ("en", "Authorization: Bearer {JWT}"),
    ]),
    "BEARER_TOKEN": (16, [
        ("en", 'curl -H "Authorization: Bearer {BEARER_TOKEN}" https://api.example.com/v1/me'),
        ("de", "Header: Authorization: Bearer {BEARER_TOKEN} – Antwort ist 401."),
        ("ja", "Authorization: Bearer {BEARER_TOKEN} を付けても403になります。"),
        ("fr", "J'envoie « Bearer {BEARER_TOKEN} » mais l'API refuse."),
        ("es", "Usa el encabezado Authorization: bearer {BEARER_TOKEN} para probar."),
        ("pt", "fetch(url, { headers: { Authorization: `Bearer {BEARER_TOKEN}` } })"),
        ("en", "The access token (Bearer {BEARER_TOKEN}) expired after an hour."),
        ("en", "Send the request with Bearer {BEARER_TOKEN}."),
    ]),
    "PRIVATE_KEY": (12, [
        ("en", "Why does ssh reject this key?\n{PRIVATE_KEY}\n"),
        ("de", "Hier ist der Schlüssel:\n{PRIVATE_KEY}\nBitte nicht weitergeben."),
        ("ja", "秘密鍵を貼ります：\n{PRIVATE_KEY}"),
        ("fr", "Clé privée :\n{PRIVATE_KEY}\nElle ne marche plus."),
        ("es", "```\n{PRIVATE_KEY}\n```\n¿Por qué falla?"),
        ("pt", "Minha chave:\n{PRIVATE_KEY}"),
    ]),
}

MULTI_VALUE_TEMPLATES: list[tuple[str, str]] = [
    ("de", "Anna Schmidt · {EMAIL} · {PHONE}"),
    ("en", "Name: John Doe\nSSN: {US_SSN}\nCard: {CREDIT_CARD}\nEmail: {EMAIL}"),
    ("fr", "Coordonnées : {EMAIL}, tél. {PHONE}, IBAN {IBAN}."),
    ("ja", "氏名：山田太郎、メール：{EMAIL}、電話：{PHONE}"),
    ("es", "Datos: correo {EMAIL}, tarjeta {CREDIT_CARD}, IP {IPV4}."),
    ("pt", "Cliente {EMAIL} (IP {IPV4}) pagou com {CREDIT_CARD}."),
    ("en", ".env:\nOPENROUTER_API_KEY={OPENROUTER_API_KEY}\nOPENAI_API_KEY={OPENAI_API_KEY}\n"
           "ANTHROPIC_API_KEY={ANTHROPIC_API_KEY}"),
    ("en", "AWS_ACCESS_KEY_ID={AWS_ACCESS_KEY_ID}\nGITHUB_TOKEN={GITHUB_TOKEN}\nSLACK_BOT_TOKEN={SLACK_TOKEN}"),
    ("de", "Log: user={EMAIL} ip={IPV6} status=403"),
    ("en", '{"type": "service_account", "project_id": "demo-project-4821", '
           '"private_key": "{PRIVATE_KEY_JSON}\\n", "client_email": "{EMAIL}"}'),
    ("it", "Fattura a {EMAIL}, IBAN {IBAN}, tel. {PHONE}"),
    ("en", "Debug this: requests.get(url, headers={'Authorization': 'Bearer {BEARER_TOKEN}'}) from {IPV4}"),
    ("ja", "請求先：{EMAIL}／カード：{CREDIT_CARD}／IP：{IPV6}"),
    ("es", "Llama al {PHONE} o escribe a {EMAIL}; SSN {US_SSN}."),
    ("pt", "Chave {OPENROUTER_API_KEY} vazou junto com o JWT {JWT}"),
    ("nl", "Stuur de factuur naar {EMAIL} en maak over naar {IBAN}."),
]

PLACEHOLDER = re.compile(r"\{([A-Z][A-Z0-9_]*)\}")


def fill_template(rng: Rng, lang: str, template: str, counters: dict[tuple[str, str], int]):
    values: list[dict[str, str]] = []

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        pii_type, make = PLACEHOLDERS[name]
        key = (name, lang if name in LANGUAGE_SPECIFIC else "")
        index = counters.get(key, 0)
        counters[key] = index + 1
        value = make(rng, lang, index)
        values.append({"type": pii_type, "value": value})
        return value

    text = PLACEHOLDER.sub(substitute, template)
    for item in values:
        assert text.count(item["value"]) == 1, (template, item)
    return text, values


def positives(rng: Rng) -> list[dict]:
    rows, counters = [], {}
    for pii_type, (count, templates) in POSITIVE_TEMPLATES.items():
        for index in range(count):
            lang, template = templates[index % len(templates)]
            text, values = fill_template(rng, lang, template, counters)
            rows.append({"id": f"{pii_type.lower()}-{index + 1:03d}", "lang": lang, "text": text, "values": values})
    for index, (lang, template) in enumerate(MULTI_VALUE_TEMPLATES):
        text, values = fill_template(rng, lang, template, counters)
        rows.append({"id": f"multi-{index + 1:03d}", "lang": lang, "text": text, "values": values})
    return rows


# --- negatives: look-alikes that hold no PII ------------------------------------------------------

def luhn_fail_card(rng: Rng, index: int) -> str:
    number, groups = card_digits(rng, index)
    wrong = number[:-1] + str((int(number[-1]) + rng.randrange(1, 10)) % 10)
    assert not luhn_valid(wrong)
    return group(wrong, groups, ["", " ", "-"][index // len(CARD_NETWORKS) % 3])


def luhn_ok_no_network(rng: Rng, index: int) -> str:
    if index % 4 == 3:  # a nanosecond timestamp that happens to pass Luhn
        payload = str(rng.randrange(1_700_000_000, 1_800_000_000)) + chars(rng, DIGITS, 8)
        return payload + luhn_check_digit(payload)
    prefix = rng.choice(["1", "7", "8", "9", "20", "21", "31", "33"])
    length = 16 if index % 2 == 0 else 19
    payload = prefix + chars(rng, DIGITS, length - len(prefix) - 1)
    number = payload + luhn_check_digit(payload)
    return group(number, (4, 4, 4, 4), " ") if length == 16 and index % 4 == 2 else number


def unix_epoch(rng: Rng, index: int) -> str:
    seconds = rng.randrange(1_600_000_000, 1_800_000_000)
    return str([seconds, seconds * 1000 + rng.randrange(1000), seconds * 10**9 + rng.randrange(10**9)][index % 3])


def generation_id(rng: Rng, index: int) -> str:
    return f"gen-{rng.randrange(1_700_000_000, 1_800_000_000)}-{chars(rng, ALNUM, 20)}"


def trace_id(rng: Rng, index: int) -> str:
    return chars(rng, HEX, 32)


def span_id(rng: Rng, index: int) -> str:
    return chars(rng, HEX, 16)


def uuid4(rng: Rng, index: int) -> str:
    return fill(rng, "HHHHHHHH-HHHH-4HHH-") + rng.choice("89ab") + fill(rng, "HHH-HHHHHHHHHHHH")


def sha256_hex(rng: Rng, index: int) -> str:
    return chars(rng, HEX, 64)


def prompt_hash(rng: Rng, index: int) -> str:
    return ("hmac-sha256:" if index % 3 == 2 else "sha256:") + chars(rng, HEX, 64)


BASE_TIME = datetime(2024, 1, 1, tzinfo=timezone.utc)


def random_time(rng: Rng) -> datetime:
    return BASE_TIME + timedelta(seconds=rng.randrange(3 * 365 * 86400), microseconds=rng.randrange(10**6))


def iso_timestamp(rng: Rng, index: int) -> str:
    formats = ["%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%S+02:00", "%Y-%m-%d %H:%M:%S"]
    return random_time(rng).strftime(formats[index % len(formats)])


def numeric_date(rng: Rng, index: int) -> str:
    formats = ["%d-%m-%Y", "%m/%d/%Y %H:%M", "%d.%m.%Y", "%Y/%m/%d", "%d/%m/%Y", "%Y-%m-%d", "%d.%m.%Y %H:%M",
               "%m-%d-%Y"]
    return random_time(rng).strftime(formats[index % len(formats)])


def pick_in_turn(options: list[str]) -> Callable[[Rng, int], str]:
    return lambda rng, index: options[index % len(options)]


MODEL_SLUGS = ["anthropic/claude-4.6-sonnet-20260217", "openai/gpt-4o-2024-08-06",
               "meta-llama/llama-3.1-405b-instruct:free", "google/gemini-2.5-pro-preview-05-06",
               "mistralai/mistral-7b-instruct-v0.3", "deepseek/deepseek-r1-0528", "qwen/qwen-2.5-72b-instruct",
               "openai/gpt-4o-mini-2024-07-18", "anthropic/claude-3.5-sonnet-20240620", "x-ai/grok-2-1212",
               "cohere/command-r-plus-08-2024", "nousresearch/hermes-3-llama-3.1-405b", "openai/o1-2024-12-17",
               "microsoft/phi-3-medium-128k-instruct"]
VERSIONS = ["1.2.3", "v2.10.0-rc.1", "0.66b2", "3.12.1", "openai==1.54.4", "v20.11.1", "2.0.0-beta.3+build.5",
            "10.0.22631.2861", "Chrome/124.0.6367.91", "1.45.2", "0.51b0", "4.0.0a7", "2024.10.1", "v0.3.12"]
PRIVATE_V4 = ["10.0.0.12", "10.42.7.201", "172.16.5.4", "172.31.255.254", "192.168.1.20", "192.168.178.1",
              "127.0.0.1", "169.254.169.254", "0.0.0.0", "224.0.0.251", "239.255.255.250", "255.255.255.255",
              "10.255.0.3", "172.20.14.77", "127.0.1.1", "192.168.0.254"]
PRIVATE_V6 = ["::1", "fe80::1ff:fe23:4567:890a%eth0", "fd00:ec2::254", "ff02::1", "fd12:3456:789a:1::1",
              "fe80::5054:ff:fe12:3456", "fec0::1", "fe80::a00:27ff:fe4e:66a1", "ff05::1:3", "fd7a:115c:a1e0::1",
              "fe80::1"]


def iban_mod97_fail(rng: Rng, index: int) -> str:
    countries = list(IBAN_LAYOUTS)
    compact = iban_compact(rng, countries[index % len(countries)])
    if index % 2:  # a typo in the account number
        position = rng.randrange(len(compact) - 6, len(compact))
        old = compact[position]
        new = rng.choice([c for c in (DIGITS if old.isdigit() else UPPER) if c != old])
        compact = compact[:position] + new + compact[position + 1:]
    else:  # wrong check digits
        check = (int(compact[2:4]) - 2 + rng.randrange(1, 97)) % 97 + 2  # another of 02..98
        compact = f"{compact[:2]}{check:02d}{compact[4:]}"
    assert not iban_valid(compact)
    return print_iban(compact, grouped=index % 4 < 2)


def ssn_invalid_area(rng: Rng, index: int) -> str:
    area = ["000", "666", f"9{rng.randrange(100):02d}"][index % 3]
    separator = "- "[index // 3 % 2]
    return f"{area}{separator}{rng.randrange(1, 100):02d}{separator}{rng.randrange(1, 10000):04d}"


def ssn_invalid_group_or_serial(rng: Rng, index: int) -> str:
    # Areas from 100: "0dd-dd-dddd" is also a national phone number with trunk 0, so it is no look-alike.
    area = rng.choice([a for a in range(100, 900) if a != 666])
    group_number, serial = ("00", f"{rng.randrange(1, 10000):04d}") if index % 2 \
        else (f"{rng.randrange(1, 100):02d}", "0000")
    return f"{area:03d}-{group_number}-{serial}"


def pem_public(rng: Rng, index: int) -> str:
    label = ["PUBLIC KEY", "CERTIFICATE", "RSA PUBLIC KEY", "CERTIFICATE REQUEST"][index % 4]
    body = base64.b64encode(rng.randbytes(48 * 5)).decode()
    rows = [body[i:i + 64] for i in range(0, len(body), 64)]
    return "\n".join([f"-----BEGIN {label}-----", *rows, f"-----END {label}-----"])


def mac_address(rng: Rng, index: int) -> str:
    address = ":".join(chars(rng, "0123456789ABCDEF", 2) for _ in range(6))
    return address if index % 2 else address.lower().replace(":", "-")


NegativeMaker = Callable[[Rng, int], str]

# kind: (value maker or None for literal texts, samples (None: one per template), templates with {X})
NEGATIVE_KINDS: dict[str, tuple[NegativeMaker | None, int | None, list[tuple[str, str]]]] = {
    "luhn_fail_card": (luhn_fail_card, 24, [
        ("en", "Tracking number {X} — has it shipped yet?"),
        ("de", "Die Vorgangsnummer {X} taucht zweimal im Export auf."),
        ("fr", "Référence de commande : {X}."),
        ("es", "El número de pedido {X} no aparece en el sistema."),
        ("ja", "注文番号は{X}です。"),
        ("pt", "Protocolo de atendimento {X}, pode verificar?"),
    ]),
    "luhn_ok_no_network": (luhn_ok_no_network, 16, [
        ("en", "Account reference {X} was merged."),
        ("de", "Kundenreferenz: {X}"),
        ("fr", "Numéro de suivi {X} – livré ?"),
        ("en", "span start_time_unix_nano={X}"),
    ]),
    "unix_epoch": (unix_epoch, 15, [
        ("en", '"created": {X},'),
        ("de", "Zeitstempel {X} (Unix)"),
        ("fr", "horodatage={X}"),
        ("ja", "タイムスタンプ{X}を日時に変換して"),
        ("es", "El evento llegó con time_unix_nano {X}."),
    ]),
    "generation_id": (generation_id, 12, [
        ("en", "OpenRouter generation {X} cost more than expected."),
        ("de", "Generierung {X} hat 0.0042 $ gekostet."),
        ("en", "GET https://openrouter.ai/api/v1/generation?id={X}"),
        ("fr", "La génération {X} a échoué."),
        ("ja", "生成ID：{X}"),
        ("pt", "id da geração: {X}"),
    ]),
    "trace_id": (trace_id, 12, [
        ("en", "trace_id={X} service=checkout"),
        ("de", "Trace {X} zeigt drei Spans."),
        ("en", "traceparent: 00-{X}-00f067aa0ba902b7-01"),
        ("es", "Busca la traza {X} en Tempo."),
    ]),
    "span_id": (span_id, 12, [
        ("en", "parent span {X} has no children"),
        ("fr", "span_id : {X}"),
        ("ja", "スパンID{X}が見つかりません"),
    ]),
    "uuid": (uuid4, 12, [
        ("en", "request_id={X}"),
        ("de", "Bestellung {X} wurde storniert."),
        ("pt", "O usuário {X} não existe."),
        ("es", "Sesión {X} expirada."),
    ]),
    "sha256_digest": (sha256_hex, 12, [
        ("en", "{X}  model.safetensors"),
        ("de", "Prüfsumme: {X}"),
        ("en", "docker pull python@sha256:{X}"),
        ("fr", "Le condensat SHA-256 est {X}."),
    ]),
    "prompt_hash": (prompt_hash, 12, [
        ("en", "gen_ai.prompt.hash={X}"),
        ("de", "Prompt-Hash {X} kam 14-mal vor."),
        ("ja", "プロンプトのハッシュ：{X}"),
    ]),
    "iso_timestamp": (iso_timestamp, 12, [
        ("en", "Started at {X}, finished 3 s later."),
        ("de", "Zeitpunkt: {X}"),
        ("fr", "Dernière exécution : {X}."),
        ("es", "Último acceso {X}"),
        ("ja", "更新日時：{X}"),
        ("pt", "Criado em {X}."),
    ]),
    "numeric_date": (numeric_date, 16, [
        ("de", "Lieferung am {X}, bitte bestätigen."),
        ("en", "Meeting on {X} with the vendor."),
        ("fr", "Rendez-vous le {X}."),
        ("es", "Fecha de vencimiento: {X}"),
        ("ja", "期限は{X}です。"),
        ("pt", "Vencimento em {X}."),
    ]),
    "model_slug": (pick_in_turn(MODEL_SLUGS), 14, [
        ("en", "Use {X} for this task."),
        ("de", "Das Modell {X} antwortet zu langsam."),
        ("fr", "Compare {X} avec les autres modèles."),
        ("es", "model: {X}"),
        ("ja", "{X}で要約して"),
        ("pt", "Trocar para {X}?"),
        ("en", '{"model": "{X}", "max_tokens": 1024}'),
    ]),
    "version": (pick_in_turn(VERSIONS), 14, [
        ("en", "Upgrade to {X} fixed it."),
        ("de", "Version {X} ist installiert."),
        ("fr", "Depuis la {X}, ça plante."),
        ("ja", "バージョン{X}で再現します"),
        ("es", "Probado con {X}."),
        ("pt", "Versão {X} lançada hoje."),
        ("en", "User-Agent: Mozilla/5.0 {X} Safari/537.36"),
    ]),
    "price": (pick_in_turn(["0.000273", "$12.50", "€0,50", "0.0000025", "US$ 1,234.56", "¥1,500", "R$ 49,90",
                            "0,0042 €", "$0.15 / 1M tokens", "£3.20", "0.002737", "12.345,67 €"]), 12, [
        ("en", "This call cost {X}."),
        ("de", "Kosten: {X}"),
        ("fr", "Le prix est de {X}."),
        ("es", "Cuesta {X} por solicitud."),
        ("ja", "料金は{X}でした"),
        ("pt", "Custo total {X}"),
    ]),
    "token_count": (None, None, [
        ("en", "prompt_tokens=1523, completion_tokens=287, total_tokens=1810"),
        ("de", "Der Prompt hat 1 234 567 Tokens, zu viel für 128k Kontext."),
        ("fr", "Limite : 200 000 jetons en entrée, 8 192 en sortie."),
        ("es", "max_tokens: 4096"),
        ("ja", "トークン数：12,345（入力）／678（出力）"),
        ("pt", "Usamos 3.456.789 tokens este mês."),
        ("en", '"usage": {"prompt_tokens": 20480, "completion_tokens": 1024, "reasoning_tokens": 512}'),
        ("en", "Context window 1,048,576 tokens; output capped at 65,536."),
        ("de", "Tokenverbrauch gestern: 98.765.432"),
        ("fr", "Il reste 12 345 678 jetons dans le quota."),
        ("en", "cached_tokens=14336 of 16384"),
        ("zh", "本月消耗 2,500,000 个 token。"),
    ]),
    "http_status": (None, None, [
        ("en", "HTTP/1.1 429 Too Many Requests"),
        ("en", "The upstream returned 503 Service Unavailable after 30000 ms."),
        ("de", "Fehler 401 Unauthorized beim Aufruf."),
        ("fr", "Erreur 502 Bad Gateway depuis 10h."),
        ("es", "Respuesta 200 OK en 842 ms."),
        ("ja", "ステータスコード404が返ります"),
        ("pt", "Recebi 402 Payment Required do OpenRouter."),
        ("en", "http.response.status_code=500 error.type=InternalServerError"),
        ("de", "Statuscodes 400, 401, 403, 404, 408, 429, 500, 502, 503 behandeln"),
        ("en", "retry on 408/409/429/5xx"),
        ("fr", "Le proxy renvoie 301 puis 307."),
        ("es", "HTTP 422 Unprocessable Entity"),
    ]),
    "url": (pick_in_turn([
        "https://openrouter.ai/api/v1/chat/completions", "https://api.openai.com/v1/models?limit=50",
        "https://github.com/open-telemetry/opentelemetry-python/blob/main/README.md#L10-L20",
        "https://example.com/docs/getting-started?page=2&lang=de", "http://localhost:8080/v1/health",
        "https://de.wikipedia.org/wiki/Internationale_Bankkontonummer",
        "https://openrouter.ai/anthropic/claude-sonnet-4.6", "https://cdn.example.net/assets/v2.3.1/app.min.js",
        "https://www.example.co.jp/ja/products/12345", "https://api.example.com/v1/orders/1234567/items?offset=100",
        "s3://my-bucket/logs/2024/05/12/part-00001.gz", "https://status.openrouter.ai/incidents/abc123",
    ]), 12, [
        ("en", "See {X} for details."),
        ("de", "Die Doku liegt unter {X}."),
        ("fr", "Voir {X}"),
        ("ja", "{X}を参照してください"),
    ]),
    "iban_mod97_fail": (iban_mod97_fail, 16, [
        ("de", "Ist {X} eine gültige IBAN? Die Bank lehnt sie ab."),
        ("en", "Validation failed for IBAN {X}."),
        ("fr", "L'IBAN {X} est refusé : clé incorrecte."),
        ("es", "Error de validación: {X}"),
    ]),
    "ssn_invalid_area": (ssn_invalid_area, 12, [
        ("en", "Test fixture SSN {X} must be rejected."),
        ("en", "Form placeholder: {X}"),
        ("es", "Número inválido {X}"),
        ("de", "Ungültige Nummer {X} im Testdatensatz."),
    ]),
    "ssn_invalid_group_or_serial": (ssn_invalid_group_or_serial, 8, [
        ("en", "Validator rejects {X} (group 00 or serial 0000)."),
        ("fr", "Le numéro {X} est invalide."),
    ]),
    "double_colon": (None, None, [
        ("en", "La interfaz tiene :: configurada."),
        ("en", "In Haskell, length :: [a] -> Int counts a list."),
        ("en", "Call std::vector<int>::size() instead."),
    ]),
    "bearer_prose": (None, None, [
        ("en", "The bearer of this letter is authorised to collect the parcel."),
        ("en", "Bearer bonds were abolished in the US in 1982."),
        ("en", "She was the standard-bearer of the reform movement."),
        ("en", "Use the Bearer authentication scheme for every request."),
        ("en", "Bearer tokens should be short-lived and rotated."),
        ("de", "Inhaberaktien (bearer shares) sind seit 2019 abgeschafft."),
        ("fr", "Le porteur (bearer) du chèque peut l'encaisser."),
        ("es", "Un instrumento al portador (bearer instrument) no nombra al titular."),
        ("en", "Pass the token as Bearer <token> in the Authorization header."),
        ("en", "Authorization: Bearer $OPENROUTER_API_KEY"),
        ("en", "headers: Authorization: Bearer ${{ secrets.OPENROUTER_API_KEY }}"),
        ("ja", "Bearer認証（Bearer authentication）を使います"),
        ("pt", "O portador (bearer) do título recebe os juros."),
        ("en", "The ring-bearer walked in before the bride."),
    ]),
    "sk_prose": (None, None, [
        ("en", "Add it to the task-list and mark it risk-free."),
        ("en", "The desk-lamp and the disk-usage widget are broken."),
        ("en", "Enable kiosk-mode on the Ask-Me-Anything screen."),
        ("de", "Die Task-Liste ist risk-adjusted sortiert."),
        ("en", "Accept-Language: sk-SK,sk;q=0.9,en;q=0.8"),
        ("en", "scikit-learn (sometimes written sk-learn) has no GPU support."),
        ("fr", "Ajoute « task-force » et « whisk-in » au glossaire."),
        ("en", "Use the mask-image property and the flask-login extension."),
        ("es", "Traduce al eslovaco (sk-SK) la interfaz."),
        ("ja", "task-listとdisk-usageの違いは？"),
        ("en", "OpenRouter keys start with sk-or-v1- and OpenAI keys with sk-."),
        ("en", "api_key='sk-...'"),
    ]),
    "api_key_placeholder": (None, None, [
        ("en", "export OPENROUTER_API_KEY=sk-or-v1-..."),
        ("en", "api_key=\"<OPENROUTER_API_KEY>\""),
        ("de", "Ersetze sk-or-v1-xxxx durch deinen Schlüssel."),
        ("en", "OPENAI_API_KEY=sk-proj-YOUR_KEY_HERE"),
        ("en", "GITHUB_TOKEN=ghp_XXXXXXXXXXXX"),
        ("en", "AWS_ACCESS_KEY_ID=AKIA... (20 characters)"),
        ("fr", "Mettez votre clé (sk-ant-api03-…) dans ANTHROPIC_API_KEY."),
        ("en", "Authorization: Bearer YOUR_ACCESS_TOKEN"),
        ("en", "SLACK_BOT_TOKEN=xoxb-your-bot-token"),
        ("es", "api_key = os.environ['OPENROUTER_API_KEY']"),
        ("en", "OPENROUTER_API_KEY=sk-or-v1-your-key-here"),
        ("ja", "キーは「sk-or-v1-」で始まります"),
    ]),
    "port": (pick_in_turn(["localhost:8080", "collector:4317", "port 5432", ":443", "ollama:11434",
                           "otel-collector:4318", "redis:6379", "[localhost]:9090", "db.internal:3306", "*:80"]), 10, [
        ("en", "The service listens on {X}."),
        ("de", "Verbinde dich mit {X}."),
    ]),
    "css_color": (pick_in_turn(["#FF5733", "#1e90ff", "rgb(255, 87, 51)", "#000", "rgba(0, 0, 0, 0.5)",
                                "hsl(210, 50%, 40%)", "#4a4a4a", "#2E8B57", "#663399", "#ffffff80"]), 10, [
        ("en", "Make the button {X}."),
        ("de", "Hintergrundfarbe {X} bitte."),
        ("fr", "color: {X};"),
        ("ja", "文字色を{X}にして"),
        ("es", "Usa {X} para el borde."),
    ]),
    "order_number": (pick_in_turn(["1234567", "#45821", "555-0199", "0815-471", "4711", "A-2024-0042",
                                   "7654321", "BN-884213", "12-34-56", "0042-17", "Nr. 3141592", "99-1234",
                                   "#1000042", "20240512"]), 14, [
        ("de", "Bestellnummer {X}, bitte stornieren."),
        ("en", "Order {X} is delayed."),
        ("fr", "Commande n° {X} expédiée."),
        ("es", "Pedido {X} entregado."),
        ("ja", "注文{X}の状況を教えて"),
        ("pt", "Pedido {X} cancelado."),
        ("it", "Ordine {X} in consegna."),
    ]),
    "mac_address": (mac_address, 8, [
        ("en", "Device MAC {X} keeps reconnecting; the old one was 00:1A:2B:3C:4D:5E."),
        ("de", "MAC-Adresse {X} freischalten"),
    ]),
    "pem_public": (pem_public, 8, [
        ("en", "Is this the right public key?\n{X}"),
        ("de", "Zertifikat:\n{X}\nLäuft es bald ab?"),
    ]),
    "at_sign_not_email": (None, None, [
        ("en", "Decorate the class with @dataclass and the method with @lru_cache(maxsize=128)."),
        ("en", "Thanks @maria for the review!"),
        ("en", "@media (max-width: 600px) { .nav { display: none; } }"),
        ("en", "npm install @opentelemetry/api@1.9.0"),
        ("de", "Der Nutzer root@localhost hat keine Rechte."),
        ("en", "Use logo.png for 1x and logo@2x.png for retina screens."),
        ("fr", "Exporte les icônes en icon@2x.png et icon@3x.png."),
        ("ja", "@OpenRouterAIをフォローしてください"),
        ("en", "docker pull node@sha256 is not a valid reference"),
        ("es", "Menciona a @soporte en el canal #general."),
    ]),
}


def negatives(rng: Rng) -> list[dict]:
    rows = []
    for kind, (make, count, templates) in NEGATIVE_KINDS.items():
        for index in range(len(templates) if count is None else count):
            lang, template = templates[index % len(templates)]
            text = template if make is None else template.replace("{X}", make(rng, index))
            rows.append({"id": f"{kind}-{index + 1:03d}", "kind": kind, "lang": lang, "text": text})
    return rows


def jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def render() -> dict[Path, str]:
    """The corpus files and their contents, always the same."""
    return {POSITIVES_FILE: jsonl(positives(Rng(SEED))), NEGATIVES_FILE: jsonl(negatives(Rng(SEED + 1)))}


def main() -> None:
    for path, content in render().items():
        path.write_text(content, encoding="utf-8", newline="\n")
        print(f"{path.name}: {content.count(chr(10))} samples")


if __name__ == "__main__":
    main()
