"""E-mail addresses as identities: how two are compared, and which are refused as ambiguous."""

import re
import unicodedata

from models.accounts.tables import EMAIL_MAX

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


# Addresses are compared exactly, after surrounding ASCII blanks are dropped and the ASCII
# letters A-Z lower-cased; no other character is mapped. Python's str.lower() would also map
# e.g. the KELVIN SIGN (U+212A) to "k", making "admin@fabri\u212aam.example" someone else's
# address, so it is never used on an address.
_ASCII_BLANKS = " \t\n\r\f\v"
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
# Unicode categories of characters no address may hold: control, format (invisible, e.g.
# U+200B), surrogate, private use and unassigned.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})


class AmbiguousEmail(ValueError):
    """An address that Unicode normalisation or case mapping could turn into another one."""


def normalize_email(email: str) -> str:
    """The form an address is stored and compared in: ASCII blanks around it dropped, ASCII
    letters lower-cased, every other character exactly as given."""
    return email.strip(_ASCII_BLANKS).translate(_ASCII_LOWER)


def ambiguity_problem(email: str) -> str | None:
    """Why the (normalised) address could be taken for another one ("it holds ..."), or None.

    Refused: an address that NFKC normalisation changes (fullwidth or mathematical letters,
    the Kelvin sign, no-break spaces, decomposed accents...), and one with a non-ASCII
    character whose Unicode lower case, upper case or case fold holds an ASCII character
    (the Kelvin sign, dotless i, capital I with dot, sharp s) or that is invisible, private or
    unassigned. Every character of what is left is ASCII or stays non-ASCII under NFKC and
    case mapping, so no accepted address is another spelling of an ASCII one:
    "j\u00f6rg@example.de" works and is not "jorg@example.de". Non-ASCII letters are not
    case-folded either: "j\u00d6rg@example.de" is a user of its own, not "j\u00f6rg@...".
    """
    if unicodedata.normalize("NFKC", email) != email:
        changed = next((ch for ch in email if unicodedata.normalize("NFKC", ch) != ch), None)
        return (
            f"it holds {_character(changed)}, which Unicode compatibility normalisation (NFKC) "
            "changes"
            if changed
            else "it holds a character sequence, such as a letter and a combining accent, that "
            "Unicode normalisation (NFKC) composes into another"
        )
    for ch in email:
        if ch.isascii():
            continue
        name = _character(ch)
        if unicodedata.category(ch) in _REFUSED_CATEGORIES:
            return f"it holds {name}, an invisible, private-use or unassigned character"
        if any(c.isascii() for mapped in (ch.lower(), ch.upper(), ch.casefold()) for c in mapped):
            return f"it holds {name}, which Unicode case mapping turns into ASCII letters"
    return None


def _character(ch: str) -> str:
    return f"U+{ord(ch):04X} {unicodedata.name(ch, '(unnamed)')}"


def email_problem(email: str) -> str | None:
    email = normalize_email(email)
    if len(email) > EMAIL_MAX:
        return f"An e-mail address has at most {EMAIL_MAX} characters."
    if not _EMAIL.match(email) or any(ord(ch) < 32 for ch in email):
        return f"{email!r} is not an e-mail address."
    ambiguity = ambiguity_problem(email)
    if ambiguity:
        return f"{email!r} is not accepted: {ambiguity}."
    return None


def exact_email(email: str) -> str:
    """The normalised address; raises AmbiguousEmail for one that could be another's."""
    email = normalize_email(email)
    problem = ambiguity_problem(email)
    if problem:
        raise AmbiguousEmail(f"{email!r} is not accepted: {problem}.")
    return email
