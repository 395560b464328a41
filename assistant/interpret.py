"""The offline interpreter: a sentence in plain English becomes a ``Plan``.

Deterministic and local: a small grammar of verbs and their synonyms, phrases for the things a
request names (people, groups, apps, departments, statuses, "hasn't signed in for N days",
durations, reasons), and ``assistant.resolve`` to find each name in the mirror. Typos in the
grammar's own words are forgiven with RapidFuzz and said back ("read “suspnd” as “suspend”").
What cannot be settled is a ``Problem`` (with choices for an ambiguity), never a guess.
"""

from __future__ import annotations

import copy
import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from rapidfuzz import fuzz, process

from accounts.models import User
from assistant import resolve
from assistant.plan import (
    BulkAction,
    CatalogRequest,
    Choice,
    FollowUp,
    IdentityAction,
    Plan,
    Problem,
    Report,
    Step,
    Unknown,
)
from identity.models import Action
from okta.models import OktaApp, OktaGroup, OktaUser, UserStatus

MAX_TEXT = 500
EXAMPLES = (
    "Reset my Okta password",
    "Give me access to Notion",
    "Show me every app I have access to",
    "Suspend every user in the Finance department who hasn't signed in for 60 days",
)

EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
MARKUP = re.compile(r"<[^>]*>|&[#\w]+;|[<>]")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

NUMBERS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fourteen": 14,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "forty-five": 45,
    "sixty": 60,
    "ninety": 90,
}
UNIT_DAYS = {"day": 1, "week": 7, "month": 30, "year": 365}
NUMBER = r"(\d+|" + "|".join(sorted(NUMBERS, key=len, reverse=True)) + r")"

# Synonyms: every word on the right is read as the verb on the left.
VERBS: dict[str, tuple[str, ...]] = {
    "suspend": ("suspend", "freeze", "pause"),
    "unsuspend": ("unsuspend", "unfreeze", "resume", "un-suspend"),
    "deactivate": ("deactivate", "disable", "offboard"),
    "reactivate": ("reactivate", "re-activate", "restore"),
    "activate": ("activate", "enable"),
    "unlock": ("unlock",),
    "reset": ("reset", "forgot", "forgotten", "change", "recover"),
    "create": ("create", "make", "provision", "onboard"),
    "add": ("add", "put", "assign", "include", "enroll"),
    "remove": ("remove", "unassign", "drop", "kick"),
    "request": ("request", "need", "want", "give", "grant", "get", "access"),
    "show": ("show", "list", "display", "find", "report", "who", "which", "what", "see"),
    "signout": ("signout",),
}
SYNONYM = {word: verb for verb, words in VERBS.items() for word in words}
# The grammar's own words: typos of these are forgiven.
KEYWORDS = sorted(
    {
        *SYNONYM,
        "password",
        "account",
        "group",
        "groups",
        "apps",
        "application",
        "applications",
        "users",
        "user",
        "people",
        "everyone",
        "everybody",
        "every",
        "department",
        "signed",
        "logged",
        "locked",
        "days",
        "weeks",
        "months",
        "members",
        "called",
        "named",
        "admin",
        "admins",
        "role",
        "roles",
        "please",
        "email",
        "belong",
        "access",
        "active",
        "suspended",
        "factors",
        "sessions",
        "everywhere",
        "temporary",
    }
)
STOP = set(
    [
        "the",
        "a",
        "an",
        "to",
        "of",
        "for",
        "in",
        "on",
        "at",
        "and",
        "or",
        "with",
        "my",
        "me",
        "i",
        "i'm",
        "im",
        "mine",
        "myself",
        "is",
        "are",
        "be",
        "been",
        "was",
        "this",
        "that",
        "these",
        "those",
        "it",
        "its",
        "them",
        "their",
        "they",
        "he",
        "she",
        "him",
        "her",
        "his",
        "hers",
        "who",
        "whom",
        "which",
        "what",
        "please",
        "can",
        "could",
        "would",
        "you",
        "your",
        "we",
        "our",
        "us",
        "can't",
        "cant",
        "cannot",
        "don't",
        "dont",
        "do",
        "does",
        "did",
        "not",
        "no",
        "so",
        "because",
        "since",
        "as",
        "from",
        "by",
        "into",
        "out",
        "up",
        "all",
        "any",
        "each",
        "also",
        "just",
        "now",
        "then",
        "than",
        "there",
        "here",
        "has",
        "have",
        "hasn't",
        "haven't",
        "had",
        "okta",
        "app",
        "gatehouse",
        "them",
        "users",
        "all",
        "everything",
        "every",
        "everyone",
        "everybody",
        "one",
        "some",
        "am",
        "remember",
        "being",
        "been",
        "get",
        "got",
        "let",
        "lets",
        "let's",
        "how",
        "when",
        "where",
        "why",
        "while",
        "after",
        "before",
        "over",
        "under",
        "about",
        "again",
        "still",
        "only",
        "own",
        "same",
        "other",
        "another",
        "new",
        "set",
    ]
)
KNOWN = STOP | set(KEYWORDS) | {"mfa", "2fa", "sign", "login", "logins", "log", "out", "it's"}
KNOWN |= {"assigned", "added", "belongs", "send", "reset", "role", "roles"}
ME = re.compile(r"\b(me|my|myself|mine|i|i'm|im)\b")
EVERYONE = re.compile(r"\b(every(?:one|body)?|all|each)\b")
ROLE_NAMES = {
    "super admin": "SUPER_ADMIN",
    "super admins": "SUPER_ADMIN",
    "superadmin": "SUPER_ADMIN",
    "org admin": "ORG_ADMIN",
    "help desk admin": "HELP_DESK_ADMIN",
    "helpdesk admin": "HELP_DESK_ADMIN",
    "read only admin": "READ_ONLY_ADMIN",
    "read-only admin": "READ_ONLY_ADMIN",
    "app admin": "APP_ADMIN",
}
ROLE_TYPES = ("SUPER_ADMIN", "ORG_ADMIN", "HELP_DESK_ADMIN", "READ_ONLY_ADMIN", "APP_ADMIN")
STATUS_WORDS = {
    "active": UserStatus.ACTIVE,
    "suspended": UserStatus.SUSPENDED,
    "locked out": UserStatus.LOCKED_OUT,
    "locked-out": UserStatus.LOCKED_OUT,
    "staged": UserStatus.STAGED,
    "provisioned": UserStatus.PROVISIONED,
    "deactivated": UserStatus.DEPROVISIONED,
    "deprovisioned": UserStatus.DEPROVISIONED,
}
# Where a phrase naming people, a group or an app ends.
END = r"(?=\s+(?:to|from|in|into|who|that|with|because|since|so|for|and send|and add|please)\b|[,.!?;:]|$)"


# --- reading the sentence -----------------------------------------------------------------------


def bad_input(text: str) -> str:
    """Why ``text`` cannot be read at all, or ""."""
    if not text.strip():
        return "Type what you need in a few words, for example “" + EXAMPLES[0] + "”."
    if len(text) > MAX_TEXT:
        return (
            f"That is {len(text):,} characters: ask in at most {MAX_TEXT}, one request at a time."
        )
    if MARKUP.search(text) or CONTROL.search(text):
        return "Ask in plain words: HTML, markup and control characters are not read."
    return ""


def _foreign(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum(1 for c in letters if ord(c) > 127) > 0


def _normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"')
    text = text.replace("\u201d", '"').replace("\u2014", " . ").replace("\u2013", " - ")
    return re.sub(r"\s+", " ", text).strip()


class Reader:
    """One sentence being read: the text as typed (``original``), the lower-case text with
    typos of the grammar's words corrected (``t``) and what was noticed on the way."""

    def __init__(self, text: str, actor: User) -> None:
        self.actor = actor
        self.original = _normalize(text)
        self.plan = Plan(text=text)
        self.emails = [e.casefold() for e in EMAIL.findall(self.original)]
        self.t = self._correct(self.original.casefold())

    def _correct(self, lowered: str) -> str:
        out: list[str] = []
        for piece in re.split(r"(\s+)", lowered):
            word = piece.strip(",.!?;:\"'()")
            if (
                len(word) >= 3
                and word not in KNOWN
                and word not in SYNONYM
                and "@" not in word
                and word.isalpha()
            ):
                # One slip in a short word ("sho", "aps") is as far as a short word may be.
                cutoff = 85 if len(word) == 3 else 80
                best = process.extractOne(word, KEYWORDS, scorer=fuzz.ratio, score_cutoff=cutoff)
                if best is not None:
                    self.plan.notes.append(f"Read “{word}” as “{best[0]}”.")
                    piece = piece.replace(word, best[0])
            out.append(piece)
        return "".join(out)

    def has(self, pattern: str) -> re.Match[str] | None:
        return re.search(pattern, self.t)

    def verbs(self) -> list[str]:
        found: list[str] = []
        for word in re.findall(r"[a-z][a-z'-]*", self.t):
            verb = SYNONYM.get(word)
            if verb and verb not in found:
                found.append(verb)
        return found

    def problem(self, message: str, choices: Iterable[Choice] = ()) -> None:
        self.plan.problems.append(Problem(message, list(choices)))

    def replaced(self, said: str, by: str) -> str:
        """The sentence with ``said`` replaced by ``by`` (how a choice settles an ambiguity)."""
        return re.sub(re.escape(said), by, self.original, count=1, flags=re.I)

    # --- what is named -------------------------------------------------------------------------

    def number(self, word: str) -> int:
        return int(word) if word.isdigit() else NUMBERS.get(word, 0)

    def inactive_days(self) -> int | None:
        m = self.has(
            r"\b(?:has ?n[o']?t|have ?n[o']?t|has not|have not|not|never|did ?n[o']?t|no)\s+"
            r"(?:signed|logged|sign|log)[ -]?(?:in|on|ins)\s+(?:for|in|within)\s+(?:the\s+)?"
            r"(?:last\s+|past\s+)?" + NUMBER + r"\s+(day|week|month|year)s?"
        ) or self.has(
            r"\b(?:inactive|idle|dormant)\s+(?:for\s+)?(?:the\s+)?(?:last\s+|past\s+)?"
            + NUMBER
            + r"\s+(day|week|month|year)s?"
        )
        if not m:
            return None
        return self.number(m.group(1)) * UNIT_DAYS[m.group(2)]

    def duration_days(self) -> int | None:
        without = re.sub(r"(signed|logged|sign|log)[ -]?(in|on)\s+(for|in)\s+", "", self.t)
        m = re.search(
            r"\bfor\s+(?:the\s+next\s+|about\s+)?" + NUMBER + r"\s+(day|week|month|year)s?\b",
            without,
        )
        if not m:
            return None
        return self.number(m.group(1)) * UNIT_DAYS[m.group(2)]

    def reason(self) -> str:
        m = re.search(
            r"\b(?:so that|so|because|since|as|in order to)\s+(?:i|we)\b.*$", self.original, re.I
        ) or re.search(r"\b(?:for|re:?)\s+(?:ticket\s+)?#?[A-Z]+-\d+\b.*$", self.original)
        return m.group(0).strip(" .") if m else ""

    def department(self) -> str | None:
        m = self.has(
            r"\b(?:in|from|of)\s+(?:the\s+)?([a-z][\w&' -]*?)\s+(?:department|dept|org unit|ou|"
            r"division|team)\b"
        ) or self.has(r"\bdepartment\s+(?:of\s+|called\s+|named\s+|is\s+)?([a-z][\w&' -]*?)" + END)
        if not m:
            return None
        found = resolve.department_by_name(m.group(1))
        if found.read_as and found.read_as.casefold() != m.group(1).casefold():
            self.plan.notes.append(f"Read “{m.group(1)}” as the {found.read_as} department.")
        return self._settled(found, "department", lambda d: d) or ""

    def status(self) -> str:
        for word, status in STATUS_WORDS.items():
            if self.has(
                rf"\b{word}\s+(?:users|people|accounts|employees|members|ones)\b"
            ) or self.has(rf"\b(?:who are|that are|which are|are)\s+{word}\b"):
                return str(status)
        return ""

    def roles(self) -> list[str]:
        found = [r for r in ROLE_TYPES if re.search(rf"\b{r.casefold()}\b", self.t)]
        for words, role in ROLE_NAMES.items():
            if re.search(rf"\b{words}s?\b", self.t) and role not in found:
                found.append(role)
        return found

    def _settled(self, found: resolve.Found, what: str, label: Any) -> Any:
        """The one thing ``found`` names, or None with the problem said."""
        if found.match is not None:
            if found.read_as and found.read_as.casefold() != found.said.casefold():
                note = f"Read “{found.said}” as “{found.read_as}”."
                if note not in self.plan.notes:
                    self.plan.notes.append(note)
            return found.match
        if found.several:
            self.problem(
                f"{len(found.several)} {'people' if what == 'person' else what + 's'} match "
                f"“{found.said}” — which one?",
                [
                    Choice(label(x), self.replaced(found.said, _settle_text(x)))
                    for x in found.several
                ],
            )
            return None
        hint = f" Did you mean {_either(found.suggestions)}?" if found.suggestions else ""
        self.problem(f"No {what} called “{found.said}” is in the directory.{hint}")
        if found.suggestions:
            self.plan.problems[-1].choices = [
                Choice(s, self.replaced(found.said, s)) for s in found.suggestions
            ]
        return None

    def person(self, said: str) -> OktaUser | None:
        said = said.strip(" ,.'")
        if EMAIL.fullmatch(said):
            person = resolve.person_by_email(said)
            if person is None:
                self.problem(f"Nobody with the email or login {said} is in the directory.")
            return person
        if ME.fullmatch(said):
            return self.me()
        return self._settled(resolve.person_by_name(said), "person", _person_label)

    def me(self) -> OktaUser | None:
        mine = (
            OktaUser.objects.filter(pk=self.actor.okta_id).first() if self.actor.okta_id else None
        )
        if mine is None:
            self.problem("Your account is not linked to an Okta user, so “me” names nobody.")
        return mine

    def people_in(self, phrase: str) -> list[OktaUser]:
        """The people a phrase lists: emails, names, "me", separated by commas or "and"."""
        found: list[OktaUser] = []
        for part in re.split(r",|\band\b|&|;|\n", phrase):
            part = _strip_filler(part)
            if not part:
                continue
            person = self.person(part)
            if person is not None and person not in found:
                found.append(person)
        return found

    def group(self, said: str) -> OktaGroup | None:
        return self._settled(resolve.group_by_name(said), "group", lambda g: g.name)

    def apps(self, phrase: str) -> list[OktaApp]:
        found: list[OktaApp] = []
        for part in re.split(r",|\band\b|&", phrase):
            part = _strip_filler(part)
            if part:
                app = self._settled(resolve.app_by_name(part), "app", lambda a: a.label)
                if app is not None:
                    found.append(app)
        return found


def _strip_filler(part: str) -> str:
    """The name in a phrase: without "the", "please", "okta", or a leading "user" ("user john
    doe"); a word inside a name stays ("VPN Users")."""
    words = [w for w in part.strip().split() if w not in {"the", "please", "okta"}]
    while len(words) > 1 and words[0] in {"user", "users"}:
        words = words[1:]
    return " ".join(words).strip(" ,.'\"")


def _either(names: list[str]) -> str:
    quoted = [f"“{n}”" for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def _person_label(p: OktaUser) -> str:
    return f"{p.full_name} ({p.login}, {p.department or 'no department'})"


def _settle_text(x: Any) -> str:
    if isinstance(x, OktaUser):
        return x.login
    if isinstance(x, OktaGroup):
        return x.name
    if isinstance(x, OktaApp):
        return x.label
    return str(x)


# --- the grammar --------------------------------------------------------------------------------


def interpret(text: str, *, actor: User) -> Plan:
    """The plan for ``text`` asked by ``actor``. Reads the mirror; changes nothing."""
    problem = bad_input(text)
    if problem:
        return Plan(text=text, problems=[Problem(problem)])
    words = re.findall(r"[^\W\d_][\w'-]*", _normalize(text).casefold())
    if _foreign(text) and not any(w in SYNONYM for w in words):
        return Plan(
            text=text,
            problems=[
                Problem(
                    "Gatehouse understands requests in English: please ask again in English, "
                    f"for example “{EXAMPLES[0]}”."
                )
            ],
        )
    r = Reader(text, actor)
    verbs = r.verbs()
    steps = _steps(r, verbs)
    if steps is None:
        _not_understood(r, verbs)
    else:
        r.plan.steps = steps
    if r.plan.problems:
        r.plan.steps = []
    return r.plan


def _not_understood(r: Reader, verbs: list[str]) -> None:
    words = re.findall(r"[^\W\d_][\w'-]*", r.original.casefold())
    for word in dict.fromkeys(words):
        if word not in KNOWN and word not in SYNONYM:
            close = process.extract(word, KEYWORDS, scorer=fuzz.ratio, limit=3, score_cutoff=60)
            r.plan.unknown.append(resolve_unknown(word, [c[0] for c in close]))
    r.problem(
        "I could not tell what you want done. Start with what should happen: for example "
        + ", ".join(f"“{e}”" for e in EXAMPLES[:3])
        + "."
    )


def resolve_unknown(word: str, suggestions: list[str]) -> Unknown:
    return Unknown(word, suggestions)


def _steps(r: Reader, verbs: list[str]) -> list[Step] | None:
    """The steps the sentence asks for, or None when no verb says what to do."""
    t = r.t
    if (verbs and verbs[0] == "show") or re.match(r"^(?:who|which|what|list|show)\b", t):
        return _report(r)
    if "create" in verbs:
        if r.has(r"\b(?:okta_group|group)\s+(?:called|named)\b"):
            return _group_create(r)
        if r.emails or r.has(r"\b(?:user|account|person|login)\b"):
            return _user_create(r)
        if r.has(r"\b(?:okta_group|group)\b"):
            return _group_create(r)
    if r.has(r"\b(mfa|2fa|factors?|authenticator)\b") and "reset" in verbs:
        return _person_action(r, Action.MFA_RESET, "reset", "Reset MFA factors")
    if r.has(r"\bpassword\b") and ("reset" in verbs or r.has(r"\bcan'?t remember|forgot\b")):
        variant = "temp" if r.has(r"\btemp(?:orary)?\b") else "email"
        if r.has(r"\blink\b") and not r.has(r"\bemail\b"):
            variant = "url"
        label = {"temp": "Set a temporary password", "url": "Show a one-time reset link"}.get(
            variant, "Email a password reset link"
        )
        return _person_action(r, Action.PASSWORD_RESET, variant, label)
    if "unlock" in verbs or (r.has(r"\blocked out\b") and not r.has(r"\bshow|list\b")):
        return _person_action(r, Action.ACCOUNT_UNLOCK, "unlock", "Unlock")
    if r.has(r"\bsign(?:ed)? .{0,30}\bout everywhere\b|\bend (?:all )?(?:their |my )?sessions\b"):
        return _person_action(r, Action.SESSIONS_CLEAR, "clear", "Sign out everywhere")
    for verb, action, variant, bulk, label in (
        ("unsuspend", Action.USER_SUSPEND, "unsuspend", "unsuspend", "Unsuspend"),
        ("suspend", Action.USER_SUSPEND, "suspend", "suspend", "Suspend"),
        ("deactivate", Action.USER_LIFECYCLE, "deactivate", "deactivate", "Deactivate"),
        ("reactivate", Action.USER_LIFECYCLE, "reactivate", "", "Reactivate"),
        ("activate", Action.USER_LIFECYCLE, "activate", "", "Activate"),
    ):
        if verb in verbs:
            if _is_selection(r):
                if not bulk:
                    r.problem(f"{label} is done one person at a time: name the person.")
                    return []
                return _bulk(r, bulk, label, {})
            return _person_action(r, action, variant, label)
    if "add" in verbs or "remove" in verbs:
        if "request" in verbs and r.has(r"\baccess\b") and not r.has(r"\bapps?\b|\bgroup\b"):
            return _catalog(r)
        adding = "remove" not in verbs or (
            "add" in verbs and verbs.index("add") < verbs.index("remove")
        )
        return _membership(r, adding=adding)
    if "request" in verbs:
        return _catalog(r)
    return None


def _is_selection(r: Reader) -> bool:
    return bool(
        EVERYONE.search(r.t)
        or r.inactive_days()
        or r.has(r"\b(?:department|dept|org unit)\b")
        or r.has(r"\b(?:members of|in the .+ group)\b")
    )


def _selection(r: Reader) -> tuple[dict[str, Any], str] | None:
    """A bulk selection from the sentence, with words for it; None when something in it could
    not be settled (the problem is said)."""
    selection: dict[str, Any] = {}
    words: list[str] = []
    before = len(r.plan.problems)
    department = r.department()
    if department:
        selection["department"] = department
        words.append(f"in the {department} department")
    m = r.has(r"\b(?:in|of|from)\s+(?:the\s+)?(.+?)\s+group\b") or r.has(
        r"\bmembers of\s+(?:the\s+)?(.+?)" + END
    )
    if m:
        group = r.group(m.group(1))
        if group is not None:
            selection["group_id"] = group.pk
            words.append(f"in the group {group.name}")
    status = r.status()
    if status:
        selection["status"] = status
        words.append(f"whose status is {status}")
    days = r.inactive_days()
    if days:
        selection["inactive_days"] = days
        words.append(f"who have not signed in for {days} days")
    if r.emails:
        selection["logins"] = list(r.emails)
        words.append(f"among {len(r.emails)} listed people")
    if len(r.plan.problems) > before:
        return None
    if not selection:
        r.problem(
            "Say who: a department, a group, a status or “hasn't signed in for N days” "
            "(Gatehouse never selects the whole directory)."
        )
        return None
    return selection, "everyone " + ", ".join(words)


def _bulk(r: Reader, action: str, label: str, params: dict[str, Any]) -> list[Step]:
    chosen = _selection(r)
    if chosen is None:
        return []
    selection, said = chosen
    return [
        BulkAction(
            action=action, label=label, selection=selection, selection_label=said, params=params
        )
    ]


def _who(r: Reader, verb_words: str) -> list[OktaUser]:
    """The people a one-person action names: emails, names after the verb or "for", or "me"."""
    people = [p for e in r.emails if (p := r.person(e)) is not None]
    if people or len(r.plan.problems):
        return people
    m = re.search(
        r"\b(?:" + verb_words + r")\s+(?:the\s+)?(?:(?:password|account|mfa|factors|sessions)\s+"
        r"(?:of|for)\s+)?(.+?)(?:'s\b|" + END + r"|\s+(?:password|account|mfa)\b)",
        r.t,
    ) or re.search(r"\b(?:for|of)\s+(.+?)" + END, r.t)
    phrase = m.group(1) if m else ""
    phrase = re.sub(r"\b(?:the|account|password|okta|please|user)\b", " ", phrase).strip()
    if re.fullmatch(r"(?:him|her|them|his|their)(?:\s+.*)?", phrase):
        # "maya chen is locked out, unlock her": the person named before the verb.
        named = re.match(
            r"^([a-z][a-z'-]+(?:\s+[a-z][a-z'-]+)?)\s+(?:is|has|was|can'?t|cannot|got)\b", r.t
        )
        if not named or ME.fullmatch(named.group(1)):
            r.problem(f"Who is “{phrase.split()[0]}”? Name the person (name, email or login).")
            return []
        phrase = named.group(1)
    if phrase and not ME.fullmatch(phrase):
        return r.people_in(phrase)
    if ME.search(r.t):
        mine = r.me()
        return [mine] if mine else []
    r.problem("Who is this for? Name the person (their name, email or login), or say “my”.")
    return []


VERB_WORDS: dict[str, str] = {
    Action.PASSWORD_RESET: "reset|forgot|change|recover",
    Action.MFA_RESET: "reset",
    Action.ACCOUNT_UNLOCK: "unlock",
    Action.SESSIONS_CLEAR: "sign|signout|end",
    Action.USER_SUSPEND: "suspend|unsuspend|freeze|unfreeze|pause|resume",
    Action.USER_LIFECYCLE: "deactivate|disable|offboard|activate|enable|reactivate|restore",
}


def _person_action(r: Reader, action: str, variant: str, label: str) -> list[Step]:
    people = _who(r, VERB_WORDS[action])
    return [
        IdentityAction(
            action=action,
            variant=variant,
            label=label,
            target_user_id=p.pk,
            target_label=str(p),
        )
        for p in people
    ]


def _membership(r: Reader, *, adding: bool) -> list[Step]:
    """ "Add X to the Y group / the A, B apps", for listed people or for a selection."""
    verb = "add|put|assign|include|enroll" if adding else "remove|unassign|drop|kick"
    link = "to|into" if adding else "from"
    apps_m = r.has(
        rf"\b(?:{link})\s+(?:the\s+)?((?:(?!\bgroups?\b).)+?)\s+(?:apps?|applications?)\b"
    )
    group_m = r.has(rf"\b(?:{link})\s+(?:the\s+)?(.+?)\s+group\b")
    plain_m = r.has(rf"\b(?:{link})\s+(?:the\s+)?(.+?)" + END)
    who_m = r.has(rf"\b(?:{verb})\s+(.+?)\s+(?:{link})\b")
    who = who_m.group(1) if who_m else ""
    targets_groups: list[OktaGroup] = []
    targets_apps: list[OktaApp] = []
    if apps_m:
        targets_apps = r.apps(apps_m.group(1))
    elif group_m:
        group = r.group(group_m.group(1))
        targets_groups = [group] if group else []
    elif plain_m:
        said = _strip_filler(plain_m.group(1))
        gf = resolve.group_by_name(said)
        af = resolve.app_by_name(said)
        if af.match is not None and (gf.match is None or af.match.label.casefold() == said):
            targets_apps = [af.match]
        elif gf.match is not None:
            targets_groups = [gf.match]
        else:
            r._settled(gf if gf.several or not af.suggestions else af, "group or app", _settle_text)
    else:
        r.problem(
            "Say which group or apps, e.g. “add maya.chen@acme.com to the Engineering group”."
        )
    if r.plan.problems:
        return []
    selection = bool(EVERYONE.search(who)) or bool(re.search(r"\bmembers of|department\b", who))
    if selection:
        if targets_apps:
            action = "app_assign" if adding else "app_unassign"
            label = "Assign apps" if adding else "Unassign apps"
            params: dict[str, Any] = {"app_ids": [a.pk for a in targets_apps]}
        else:
            action = "group_add" if adding else "group_remove"
            label = "Add to group" if adding else "Remove from group"
            params = {"group_id": targets_groups[0].pk}
        # The selection is the part naming who, not the target ("to the Slack app").
        sub = copy.copy(r)
        sub.t = who
        return _bulk(sub, action, label, params)
    people = r.people_in(who) if who else []
    if not people and not r.plan.problems:
        r.problem("Who should be added? Name the people (names, emails or logins) or a group.")
    steps: list[Step] = []
    for p in people:
        for g in targets_groups:
            steps.append(
                IdentityAction(
                    action=Action.GROUP_MEMBERSHIP,
                    variant="add" if adding else "remove",
                    label=f"{'Add to' if adding else 'Remove from'} group {g.name}",
                    target_user_id=p.pk,
                    target_label=str(p),
                    params={"group_id": g.pk},
                )
            )
        for a in targets_apps:
            steps.append(
                IdentityAction(
                    action=Action.APP_ASSIGNMENT,
                    variant="assign" if adding else "unassign",
                    label=f"{'Assign' if adding else 'Unassign'} app {a.label}",
                    target_user_id=p.pk,
                    target_label=str(p),
                    params={"app_id": a.pk},
                )
            )
    return steps


def _user_create(r: Reader) -> list[Step]:
    if not r.emails:
        r.problem("Give the new person's email, e.g. “create an Okta user for ana.diaz@acme.com”.")
        return []
    login = r.emails[0]
    local = login.split("@")[0]
    parts = re.split(r"[._-]+", local)
    first, last = parts[0].title(), " ".join(parts[1:]).title()
    named = re.search(r"\bnamed\s+([A-Z][\w'-]+)\s+([A-Z][\w'-]+)", r.original)
    if named:
        first, last = named.group(1), named.group(2)
    if not last:
        r.problem(f"What is {login}'s last name? Say “… named First Last”.")
        return []
    profile: dict[str, Any] = {"login": login, "email": login, "firstName": first, "lastName": last}
    m = r.has(r"\bin\s+(?:the\s+)?([a-z][\w&' -]*?)\s+(?:department|dept)\b")
    if m:
        found = resolve.department_by_name(m.group(1))
        if isinstance(found.match, str):
            profile["department"] = found.match
        else:
            profile["department"] = m.group(1).title()
            r.plan.notes.append(f"Nobody is in the {profile['department']} department yet.")
    groups: list[OktaGroup] = []
    m = r.has(
        r"\b(?:with|and|in)\s+(?:the\s+)?((?:(?!\b(?:groups?|apps?|with|department)\b).)+?)\s+groups?\b"
    )
    if m:
        for part in re.split(r",|\band\b|&", m.group(1)):
            if _strip_filler(part):
                g = r.group(_strip_filler(part))
                if g is not None:
                    groups.append(g)
    apps: list[OktaApp] = []
    m = r.has(
        r"\b(?:with|and)\s+(?:the\s+)?((?:(?!\b(?:groups?|with|department)\b).)+?)\s+(?:apps?|applications?)\b"
    )
    if m:
        apps = r.apps(m.group(1))
    if r.plan.problems:
        return []
    params = {
        "profile": profile,
        "activation": "email",
        "group_ids": [g.pk for g in groups],
        "app_ids": [a.pk for a in apps],
    }
    extra = [f"groups {', '.join(g.name for g in groups)}"] if groups else []
    extra += [f"apps {', '.join(a.label for a in apps)}"] if apps else []
    label = f"Create user {first} {last} ({login})" + (f" with {'; '.join(extra)}" if extra else "")
    return [IdentityAction(action=Action.USER_CREATE, variant="create", label=label, params=params)]


def _group_create(r: Reader) -> list[Step]:
    m = re.search(
        r"\b(?:called|named)\s+[\"']?([^\"',:;]+?)[\"']?(?=\s+(?:and|with|for)\b|[,.:;]|$)",
        r.original,
        re.I,
    )
    if not m:
        r.problem("What should the group be called? Say “create a group called …”.")
        return []
    name = m.group(1).strip()
    steps: list[Step] = [
        IdentityAction(
            action=Action.GROUP_MANAGE,
            variant="create",
            label=f"Create the Okta group {name}",
            params={"name": name, "description": ""},
        )
    ]
    if r.has(r"\badd\b"):
        count_m = r.has(
            r"\b(?:these|the following|those)\s+" + NUMBER + r"\s+(?:users|people|persons)"
        )
        listed = r.t.split(":", 1)[1] if ":" in r.t else ""
        people = r.people_in(listed) if listed else [p for e in r.emails if (p := r.person(e))]
        wanted = r.number(count_m.group(1)) if count_m else None
        if not people:
            r.problem(
                "Which people should join it? List their emails or names after a colon: "
                f"“… called {name} and add these users: ana@acme.com, ben@acme.com”."
            )
            return []
        if wanted is not None and wanted != len(people):
            r.problem(f"You said {wanted} people but listed {len(people)}: list each one.")
            return []
        logins = ", ".join(p.login for p in people)
        steps.append(
            FollowUp(
                text=f"Add {logins} to the {name} group",
                why=f"{name} does not exist yet: once Okta has created it, ask this to add "
                f"the {len(people)} people.",
            )
        )
    return steps


def _catalog(r: Reader) -> list[Step]:
    m = r.has(
        r"\b(?:access\s+to|request(?:ing)?|need|want|get|give\s+(?:me|us)|grant\s+me|"
        r"add\s+me\s+to)\s+(?:access\s+to\s+)?(?:the\s+)?(.+?)(?=\s+(?:group|app|application|"
        r"so|because|since|for|please|as)\b|[,.!?]|$)"
    )
    if not m or not _strip_filler(m.group(1)) or ME.fullmatch(m.group(1).strip()):
        r.problem("What would you like access to? Name a group or app from the catalog.")
        return []
    said = _strip_filler(m.group(1))
    for_m = r.has(r"\bfor\s+((?!(?:" + NUMBER + r")\b)[a-z][\w.@'-]*(?:\s+[a-z][\w'-]+)?)" + END)
    subject = None
    if (
        for_m
        and not ME.fullmatch(for_m.group(1))
        and not re.match(r"^(?:the|a|an)\b", for_m.group(1))
    ):
        subject = r.person(for_m.group(1))
    elif r.emails:
        subject = r.person(r.emails[0])
    else:
        subject = r.me()
    found = resolve.catalog_item_by_name(said)
    if found.match is None and not found.several:
        elsewhere = resolve.group_by_name(said).match or resolve.app_by_name(said).match
        if elsewhere is not None:
            r.problem(
                f"{elsewhere} is not in the catalog, so it cannot be asked for here: ask its "
                "owner or IT to publish it."
            )
            return []
    item = r._settled(found, "catalog item", lambda i: i.name)
    if item is None or subject is None:
        return []
    days = r.duration_days()
    if days is None and item.max_duration_days is not None:
        days = item.default_duration_days
        r.plan.notes.append(f"For {days} days, the item's usual duration (no duration was said).")
    return [
        CatalogRequest(
            item_id=item.pk,
            item_name=item.name,
            subject_id=subject.pk,
            subject_label=str(subject),
            reason=r.reason(),
            duration_days=days,
        )
    ]


def _report(r: Reader) -> list[Step]:
    roles = r.roles()
    if roles:
        with_groups = bool(r.has(r"\bgroups?\b"))
        return [
            Report(
                "admin_roles",
                f"People with the {' or '.join(roles)} role"
                + (" and their groups" if with_groups else ""),
                {"types": roles},
            )
        ]
    mine = bool(ME.search(r.t)) and not (
        r.inactive_days() or r.has(r"\b(?:department|dept|group|members of)\b")
    )
    if mine and r.has(r"\b(?:apps?|applications?)\b"):
        return [Report("my_apps", "Every app you have access to")]
    if mine and r.has(r"\bgroups?\b"):
        return [Report("my_groups", "Every group you are in")]
    if mine and r.has(r"\brequests?\b"):
        return [Report("my_requests", "Your access requests")]
    if _is_selection(r) or r.status():
        chosen = _selection(r)
        if chosen is None:
            return []
        selection, said = chosen
        return [Report("people", said[0].upper() + said[1:], {"selection": selection})]
    r.problem(
        "What should be shown? For example “show me every app I have access to” or “show "
        "users with the SUPER_ADMIN role”."
    )
    return []
