"""Quick log (M-3): one free-text message → a proposal to log a contact.

A salesperson writes, e.g., "звонил Петрову из Ромашки, договорились о встрече в
пятницу в 15:00" (or the same in Ukrainian or English). :func:`propose` finds the
client and its contact person, the type of what was done, and the follow-up with its
date and time. Nothing is saved here: the front end shows the proposal to confirm.

The dates and times are read by :mod:`services.quicklog_dates`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from models import Client, ContactPerson, Deal, User
from models.staff import fold
from services.client_search import search_clients
from services.clock import utcnow
from services.quicklog_dates import (
    _APOSTROPHES,
    LANGUAGES,
    MONTH,
    NEXT_WEEK,
    RELATIVE,
    TIME_WORDS,
    WEEKDAY,
    _date_text,
    _mask_phones,
    _normalise,
    _parse_when,
    _rx,
)
from services.text import translit

PROBLEM_NO_CLIENT = "no_client"
PROBLEM_SEVERAL_CLIENTS = "several_clients"
PROBLEM_NO_DATE = "no_date"
PROBLEM_PAST_DATE = "past_date"


@dataclass
class FollowUp:
    type_code: str  # "meeting", "call", "task", ...
    title: str  # short human title: the type's name, or the task's words
    starts_at: datetime | None  # aware UTC; None when no date was found
    date_text: str | None  # the part of the message read as the date


@dataclass
class Proposal:
    text: str  # the original message
    type_code: str  # what was done: "call", "meeting", "email", "visit", ...
    result: str  # the logged result: the message, trimmed
    clients: list[Client] = field(default_factory=list)  # candidates
    client: Client | None = None  # set only when exactly one candidate
    contact: ContactPerson | None = None  # a contact person of ``client`` named
    follow_up: FollowUp | None = None  # None when no next step is asked for
    done: bool = True  # False: the message only plans ("завтра созвон"), nothing is logged
    problems: list[str] = field(default_factory=list)


TYPE_PATTERNS: dict[str, re.Pattern[str]] = {
    "call": _rx(r"(?:по|со|пере|до|об)?звон\w*|(?:по|за|пере|до|зі|з)?дзвон\w*|дзвін\w*|"
                r"(?:пере|об)?дзв|перезв|трубк\w*|слухавк\w*|набра(?:ть|ти|л|в)\w*|"
                r"не\s+отвеча\w*|не\s+ответил\w*|не\s+відповіда\w*|не\s+бер[еу]\w*|"
                r"переговорил\w*|переговорив\w*|поговори(?:л|в)\w*|тел|телефон\w*|"
                r"no\s+answer|didn'?t\s+pick\s+up|spoke|talked|phone\w*|try\s+again|"
                r"(?:left\s+(?:a\s+)?)?(?:vm|voicemail)|(?:за)?телефонува\w*|call\w*|rang"),
    "meeting": _rx(r"встреч\w*|встрет\w*|встр|зустр\w*|meet\w*|met|mtg|zoom|(?<!after\s)lunch|"
                   r"catch\s+up"),
    "email": _rx(r"письм\w*|(?:на|от|від)?пис(?:ал|ав|ать|ати)\w*|лист(?:а|ом|и|ів)?|"
                 r"e-?mail\w*|емейл\w*|имейл\w*|імейл\w*|mailed|wrote|почт(?:а|у|ой|е)|пошт(?:а|у|ою|і)|"
                 r"(?:от|вы)прав(?:ил|ила|или|ить|лю)\w*|відправ(?:ив|ила|или|ити|лю)\w*|"
                 r"(?:вы|при)сла(?:л|ла|ли|ть)\w*|надісла\w*|надішл\w*|"
                 r"скину(?:л|ла|ли|ть|в|ти)|скинь|(?:re)?sent|(?:re)?send|write"),
    "visit": _rx(r"визит\w*|візит\w*|visit\w*|(?:был|была|были|був|була|були)\s+(?:[ув]|на)|"
                 r"(?:был|была|были|був|була|були)(?=\s*(?:[,.;]|$))|[ув]\s+\w+\s+(?P<v>был|була?|були|був)|"
                 r"(?:при|за)езжа\w*|(?:при|за)їжджа\w*|(?:при|за)ех(?:ал|ать)\w*|"
                 r"(?:при|за)їха\w*|(?:при|за)їхати|заход(?:ил|ила|ить)|зайти|заскочи\w*|"
                 r"посетил\w*|відвіда\w*|(?:по|с)?ездил\w*|(?:по|з)?їздил\w*|(?:по|з)?їздив\w*|"
                 r"(?:от|за)вез(?:ти|ла|ли)?|(?:dropp|stopp)(?:ed)?\s+by|(?:drop|stop|swing|swung)\s+by|"
                 r"pop(?:ped)?\s+(?:in|by)"),
    "presentation": _rx(r"презент\w*|през(?:а|у|ы|е|ой)?|presentation\w*|presented|pres|"
                        r"prez|demo\w*|демо|демонстрац\w*"),
    "sale": _rx(r"прода[лвж]\w*|sold|sales?|купил\w*|купи(?:в|ли)|bought|"
                r"(?:подписал\w*|підписал\w*|підписав\w*|signed)(?:\s+(?:с|з|w/|with)\s+\w+)?"
                r"(?:\s+(?:the\s+|a\s+)?(?:дог\w*|договір\w*|контракт\w*|contract))|signed(?=\s*(?:[!.,]|$))"),
}


# A verb in the past tense: something was done ("звонил", "подписали", "відправив",
# "called", "met"). A message without one that plans something only plans it.
PAST = _rx(r"був|була|були|не\s+(?:отвечает|берет|відповідає|бере)|no\s+answer|"
           r"didn'?t|voicemail|vm|"
           r"\w{2,}(?:лся|лась|лись|лось|ла|ли|ло|л)|\w{3,}(?:ив|ав|ів|ув|яв|вся|лася|лися)|"
           r"\w{3,}ed|met|sent|wrote|spoke|had|was|were|went|saw|told|rang|gave|took|"
           r"got|made|did|signed")
INFINITIVE = re.compile(r"\w+(?:ть|ти|тись|тися|ться|чь)")
TODAY = _rx(r"сегодня|сьогодні|today|tonight")


# Words that look like a past verb and are not
_NOT_PAST = frozenset("дела сила села школа цели стол пол тел утла нужно было".split()) - {
    "было"}


# Words asking for a next step; the follow-up is read from the first one on.
AGREED = _rx(r"договорил\w*|договорен\w*|домовил\w*|домовлен\w*|agreed?")
# waiting, needing: a next step only with a date, an activity or an action after them
WAITING = _rx(r"жд(?:ет|ут|у)|чека(?:є|ють|ю|ємо)|needs?|нужен|нужна|нужны")
FOLLOW_UP = _rx(AGREED.pattern[5:-3] + "|"
                r"перезвон\w*|передзвон\w*|call(?:ing)?\s+back|callback|"
                r"(?<!\ba\s)follow[- ]?up|f/u|next|следующ\w*|след\.?|наступн\w*|запланир\w*|"
                r"заплану\w*|назначил\w*|призначил\w*|scheduled?|нужно|надо|треба|"
                r"потрібн\w*|needs?|нужен|нужна|нужны|напомн\w*|нагада\w*|remind\w*|"
                # a request is the next step: "просит КП", "чекають рахунок", "wants a demo"
                r"прос(?:ит|ил|ила|или|ят|ять|ить|ив|ила|или)|попрос\w*|asked|asks|wants?|"
                r"хоч(?:ет|ут|е)|хотят|хочуть|жд(?:ет|ут|у)|чека(?:є|ють|ю|ємо)")
# ...but not "next year" nor "the next" of a date ("next Tuesday", "наступного тижня")
_NOT_FOLLOW_UP = _rx(r"(?:next|следующ\w*|след\.?|наступн\w*)\s+(?:year|год\w*|р[іо]к\w*)")
# a clause that starts with an action to do: "отправить КП", "Сидорову набрать в ср",
# "send quote"
# -ти after a vowel, с, з or й ("надіслати", "везти", "прийти"): not "документи"
_INFINITIVE = r"[^\W\d_]+(?:ть|[аяеиіуоєюй]ти|[сз]ти|чь)"
_EN_ACTIONS = (r"call|send|resend|email|e-mail|meet|visit|remind|prepare|check|ping|ship|"
               r"schedule|book|text|write|ask|confirm|set\s+up|follow|try")
_ACTION = re.compile(r"(?:^|(?<=[,;:.!?\-—–])\s*|(?<=\s[\-—–])\s*)(?:(?:[^\W\d_]+\s+)?"
                     r"(?P<verb>" + _INFINITIVE + r")|(?P<en>" + _EN_ACTIONS + r"))\b")
INFINITIVE_OR_ACTION = re.compile(_INFINITIVE + "|" + _EN_ACTIONS)


STOP_WORDS = frozenset("""
и в во на с со из у к о об от до по за для про при без над под что как это он она оно
они мы я ты вы его ее их им ему ей ним ней нам мне вам был была было были будет есть не
ни но а или же ли бы уже еще очень все всё так там тут тоже также сам сама сами когда где
чтобы потом после перед хотят хочет хотел сказал сказала сказали обсудили обсуждали
клиент клиента клиенту клиентом компания компании компанию ооо оао зао пао ао ип тов пп
фоп чп ltd llc inc гмбх і й та з із зі від що це він вона воно вони ми його її їх йому
їй був була було були буде але чи вже ще дуже теж коли щоб після клієнт клієнта клієнтом
компанія компанії компанію обговорили сказав сказала the a an and or at to of in on
with from for by about we he she they you him her them his their its it is was were be
been will would not but that this then after before also too very client company
customer said discussed our us
""".split())


TITLES = {
    "ru": {"call": "Звонок", "meeting": "Встреча", "email": "Письмо", "visit": "Визит",
           "presentation": "Презентация", "sale": "Продажа", "task": "Задача"},
    "uk": {"call": "Дзвінок", "meeting": "Зустріч", "email": "Лист", "visit": "Візит",
           "presentation": "Презентація", "sale": "Продаж", "task": "Завдання"},
    "en": {"call": "Call", "meeting": "Meeting", "email": "Email", "visit": "Visit",
           "presentation": "Presentation", "sale": "Sale", "task": "Task"},
}


_WORD = re.compile(r"[^\W\d_]+(?:['\-][^\W\d_]+)*")


@dataclass
class _Hit:
    code: str
    start: int
    end: int


def _type_hits(norm: str) -> list[_Hit]:
    # "у Петрова был": the verb only ("v"), the name between is no activity word
    hits = [_Hit(code, *m.span("v" if m.groupdict().get("v") else 0))
            for code, rx in TYPE_PATTERNS.items() for m in rx.finditer(norm)]
    return sorted(hits, key=lambda h: h.start)


def _distance(hit: _Hit, start: int, end: int) -> int:
    return max(start - hit.end, hit.start - end, 0)


def _clause_start(text: str, at: int) -> int:
    """Where the clause holding position ``at`` begins (after the last , ; . before)."""
    return max(text.rfind(ch, 0, at) for ch in ",;.") + 1


def _asked_title(text: str, norm: str, follow: _Hit, cut: list[tuple[int, int]],
                 types: list[_Hit], language: str) -> str:
    """The follow-up's title keeps what was asked: "Перезвонить Петрову по цене",
    "Send offer", "Надіслати рахунок"; the type's name when the clause says no more
    than the type and the date ("о встрече в пятницу" → "Встреча")."""
    end = len(text)
    for ch in ",;.":
        at = text.find(ch, follow.end)
        if at >= 0:
            end = min(end, at)
    chars = list(text[:end])
    for s, e in cut:
        chars[s:min(e, end)] = " " * max(0, min(e, end) - s)
    clause = "".join(chars[follow.start:end])
    words = [w for w in _WORD.findall(clause)]
    others = [w for w in words[1:] if _normalise(w) not in STOP_WORDS
              and not TIME_WORDS.fullmatch(_normalise(w))
              and not any(h.start >= follow.end and h.start < end
                          and text[h.start:h.end].lower() == w.lower() for h in types)]
    if not others:
        return TITLES[language][follow.code]
    title = " ".join(words)[:80].strip()
    return title[:1].upper() + title[1:]


def _task_title(text: str, start: int, cut: list[tuple[int, int]], language: str) -> str:
    """A task's title: the words after the agreement, without it and the date."""
    chars = list(text)
    for s, e in cut:
        chars[s:e] = " " * (e - s)
    words = _WORD.findall("".join(chars[start:]))
    while words and (words[0].lower() in STOP_WORDS or words[0].lower() in ("что", "що")):
        words.pop(0)
    title = " ".join(words)[:80].strip()
    return title[:1].upper() + title[1:] if title else TITLES[language]["task"]


def _reserved_spans(norm: str) -> list[tuple[int, int]]:
    """Where the words about the activity and the date are: not a client's name."""
    patterns = [FOLLOW_UP, WEEKDAY, NEXT_WEEK, MONTH, RELATIVE, TIME_WORDS]
    return [(h.start, h.end) for h in _type_hits(norm)] + [
        (m.start(), m.end()) for rx in patterns for m in rx.finditer(norm)]


def _queries(word: str) -> list[str]:
    """The word and its stems ("Ромашки" → "Ромашк", "Ромаш"): names are inflected.
    Each part of "Ромашку-Юг" is stemmed on its own ("Ромашк Юг")."""
    parts = word.split("-")
    out = [word]
    for cut in (1, 2):
        stems = [p[:-cut] if len(p) >= 5 else p for p in parts]
        out.append(" ".join(stems))
    return [q for q in dict.fromkeys(out) if sum(ch.isalpha() for ch in q) >= 3]


async def _candidates(actor: User, text: str, norm: str) -> list[Client]:
    # and the verbs of what was done ("Провёл презентацию"), unless written as a name
    reserved = _reserved_spans(norm) + [
        (m.start(), m.end()) for m in PAST.finditer(norm)
        if m.start() == 0 or not text[m.start()].isupper()]
    found: dict[int, Client] = {}
    hits: dict[int, dict[int, int]] = {}  # client id → the words that found it: the
    # letters of the longest query (the word, or its stem) that did
    capital: set[int] = set()  # clients found by a capitalised word
    for i, m in enumerate(_WORD.finditer(text.translate(_APOSTROPHES))):
        word = m.group()
        if (sum(ch.isalpha() for ch in word) < 3 or _normalise(word) in STOP_WORDS
                or any(m.start() < e and s < m.end() for s, e in reserved)):
            continue
        for query in _queries(word):
            for client in await search_clients(actor, query, limit=10):
                found.setdefault(client.id, client)
                letters = sum(ch.isalpha() for ch in query)
                words = hits.setdefault(client.id, {})
                words[i] = max(words.get(i, 0), letters)
                if word[0].isupper():
                    capital.add(client.id)
    pool = [cid for cid in found if cid in capital] or list(found)
    if not pool:
        return []
    # a client named by more words of the message (its name and its contact's) wins;
    # then the one found by longer queries ("Peter" over "Pet…" of Petrov)
    def score(cid: int) -> tuple[int, int]:
        return len(hits[cid]), sum(hits[cid].values())
    best = max(score(cid) for cid in pool)
    return [found[cid] for cid in pool if score(cid) == best]


def _common_start(a: str, b: str) -> int:
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y),
                min(len(a), len(b)))


def _name_match(name: str | None, words: list[str]) -> int:
    """How well a name matches a word of the text: the length of their common start
    when the word starts with the name's stem (its first 4+ letters; a shorter name
    must be the whole word), else 0. ``words`` are folded, each also in Latin."""
    best = 0
    for spelling in dict.fromkeys((fold(name), translit(name or ""))):
        if not spelling:
            continue
        stem = spelling[:max(4, len(spelling) - 2)]
        for word in words:
            if word == spelling or (len(spelling) >= 4 and word.startswith(stem)):
                best = max(best, _common_start(word, spelling))
    return best


async def _contact(client: Client, norm: str) -> ContactPerson | None:
    words = [v for w in _WORD.findall(norm) for v in dict.fromkeys((fold(w), translit(w)))]
    scored = []
    for person in await ContactPerson.filter(client_id=client.id, archived_at=None):
        last, first = _name_match(person.last_name, words), _name_match(person.first_name, words)
        if last or first:
            scored.append(((last, first), person))
    if not scored:
        return None
    best = max(score for score, _ in scored)
    winners = [p for score, p in scored if score == best]
    return winners[0] if len(winners) == 1 else None  # two Ivans: let the person choose


async def propose(actor: User, text: str, *, language: str, timezone: str,
                  now: datetime | None = None) -> Proposal:
    """M-3: read a quick-log message into a proposal (client, contact person, what
    was done, the follow-up and its date); ``timezone`` is the person's IANA zone,
    ``now`` defaults to the current time. Nothing is saved."""
    language = str(language) if str(language) in LANGUAGES else "ru"
    now = now or utcnow()
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    norm = _mask_phones(_normalise(text))
    marker = _marker(norm)
    region = marker.start() if marker else 0
    types = _type_hits(norm)
    parsed = _parse_when(norm[region:], region, language, timezone, now)
    # "send revised offer by 11.12": the words after the action to do describe it
    before = region if marker and marker.action else len(norm)
    plans_only = bool(marker or parsed) and not _past(text[:before], norm[:before])
    if parsed and not marker and not plans_only and len(parsed.spans) == 1 and TODAY.fullmatch(
            norm[slice(*parsed.spans[0])]):
        parsed = None  # "had a demo today": when it was done

    done = None if plans_only else _done_hit(norm, types, region)
    proposal = Proposal(text=text, type_code=done.code if done else "task",
                        result=text.strip(), done=not plans_only)

    candidates = await _candidates(actor, text, norm)
    proposal.clients = candidates
    if len(candidates) == 1:
        proposal.client = candidates[0]
        proposal.contact = await _contact(candidates[0], norm)
    else:
        proposal.problems.append(PROBLEM_SEVERAL_CLIENTS if candidates else PROBLEM_NO_CLIENT)

    if not marker and not parsed:
        return proposal
    if not parsed and (AGREED.fullmatch(marker.group()) or WAITING.fullmatch(
            marker.group())) and not any(h.start >= marker.end() for h in types) and not any(
            re.fullmatch(_INFINITIVE, w) for w in _WORD.findall(norm[marker.end():])):
        return proposal  # "домовились про знижку", "им нужны ромашки": no next step
    # the next step's type: the activity word nearest the date (after the agreement;
    # without one, any but the word of what was done; a plan alone: any)
    nexts = [h for h in types if h.start >= region and (marker or h is not done)]
    if not nexts and done and parsed and not marker and "," not in text[
            min(done.end, parsed.spans[0][0]):max(done.start, parsed.spans[0][0])]:
        nexts = [done]  # "перенесла встречу на пятницу": the same clause as the date
    if parsed and nexts:
        s, e = parsed.spans[0]
        follow = min(nexts, key=lambda h: _distance(h, s, e))
    else:
        follow = nexts[0] if nexts else None
    if follow and marker and marker.action and marker.start() < follow.start:
        # "скинуть КП на почту завтра": the action asked, not a word after it
        asked = next((h for h in nexts if h.start == marker.start()), None)
        if asked and not any(ch in text[asked.end:follow.start] for ch in ",;"):
            follow = asked
    code = follow.code if follow else "task"
    cut = [*(parsed.spans if parsed else []), *([marker.span()] if marker and not (
        follow and follow.start < marker.end() and marker.start() < follow.end)
        and not marker.action else [])]
    if follow is not None:
        title = _asked_title(text, norm, follow, cut, types, language)
        if title == TITLES[language][follow.code] and marker and marker.end() < follow.start:
            # "ждут КП, отправить сегодня": the asked action and what it is about
            about = _task_title(text[:follow.start], marker.end(), cut, language)
            if about != TITLES[language]["task"]:
                verb = text[follow.start:follow.end]
                if not INFINITIVE_OR_ACTION.fullmatch(norm[follow.start:follow.end]):
                    verb = title + ":"  # "просил КП на почту": "Письмо: КП"
                title = f"{verb[:1].upper()}{verb[1:]} {about[:1].lower()}{about[1:]}"
    else:
        start = region if marker else _clause_start(text, parsed.spans[0][0] if parsed else 0)
        title = _task_title(text, start, cut, language)
    proposal.follow_up = FollowUp(
        type_code=code, title=title, starts_at=parsed.starts_at if parsed else None,
        date_text=_date_text(text, parsed.spans) if parsed else None)
    if not parsed:
        proposal.problems.append(PROBLEM_NO_DATE)
    elif parsed.starts_at < now:
        proposal.problems.append(PROBLEM_PAST_DATE)
    return proposal


@dataclass
class _Marker:
    """Where the next step is asked for: an agreement, a request or an action to do."""
    at: int
    to: int
    text: str
    action: bool = False  # "отправить КП": the words stay in the title

    def start(self) -> int:
        return self.at

    def end(self) -> int:
        return self.to

    def span(self) -> tuple[int, int]:
        return self.at, self.to

    def group(self) -> str:
        return self.text


def _marker(norm: str) -> _Marker | None:
    """The first word asking for a next step; "next" of a date ("next Tuesday",
    "наступного тижня") and of "next year" asks for none."""
    dates = [m.span() for rx in (WEEKDAY, NEXT_WEEK) for m in rx.finditer(norm)]
    found = [_Marker(m.start(), m.end(), m.group()) for m in FOLLOW_UP.finditer(norm)
             if not any(s <= m.start() < e for s, e in dates)
             and not _NOT_FOLLOW_UP.match(norm, m.start())]
    found += [_Marker(*m.span(g), m.group(g), action=True) for m in _ACTION.finditer(norm)
              for g in ("verb", "en") if m.group(g)]
    return min(found, key=lambda m: m.at) if found else None


def _done_hit(norm: str, types: list[_Hit], region: int) -> _Hit | None:
    """What was done: an activity word before the agreement (or anywhere without one),
    not an infinitive ("просил прислать каталог": the sending is asked, not done)."""
    doings = [h for h in types if not INFINITIVE.fullmatch(norm[h.start:h.end])]
    return next((h for h in doings if h.start < region), doings[0] if doings else None)


def _past(text: str, norm: str) -> bool:
    """A past-tense verb in the message; a capitalised word inside it is a name
    ("Петров", "Іванів"), not a verb."""
    for m in PAST.finditer(norm):
        word = m.group()
        if word in _NOT_PAST or TIME_WORDS.fullmatch(word):
            continue  # "недели" is no verb
        if m.start() > 0 and text[m.start()].isupper():
            continue
        if re.search(r"\b(?:the|an?)\s+$", norm[:m.start()]):
            continue  # "the updated price list": an adjective
        return True
    return False


def parse_when(text: str, *, language: str, timezone: str,
               now: datetime | None = None) -> datetime | None:
    """A date and time typed alone ("завтра в 10", "28.11 9:00", "on Friday at 3pm"),
    in the person's time zone, as aware UTC; None when there is none."""
    language = str(language) if str(language) in LANGUAGES else "ru"
    now = now or utcnow()
    norm = _mask_phones(_normalise(text))
    parsed = _parse_when(norm, 0, language, timezone, now)
    return parsed.starts_at if parsed else None


def looks_like_log(text: str) -> bool:
    """A message that reads as a log of work: a few words with an activity word or
    an agreement ("звонил...", "домовились...", "met ...")."""
    norm = _normalise(text or "")
    if len(norm.split()) < 3:
        return False
    return bool(_type_hits(norm) or FOLLOW_UP.search(norm))


async def contact_in(client_id: int, text: str) -> int | None:
    """The contact person of ``client_id`` named in ``text``, if exactly one."""
    client = await Client.get_or_none(id=client_id)
    if client is None:
        return None
    person = await _contact(client, _mask_phones(_normalise(text)))
    return person.id if person else None


def done_type(text: str) -> str | None:
    """The type of what was done, read as the quick log reads it ("звонил..." → call,
    "met..." → meeting); None when the words name no type."""
    norm = _mask_phones(_normalise(text or ""))
    marker = _marker(norm)
    hit = _done_hit(norm, _type_hits(norm), marker.start() if marker else 0)
    return hit.code if hit else None


# --- the client's open deal (issue 12) -------------------------------------------------
@dataclass
class DealLink:
    linked: Deal | None = None  # the client's one open deal, now linked
    choices: list[Deal] = field(default_factory=list)  # several: the person chooses


async def link_to_open_deal(actor: User, client_id: int | None,
                            activity_ids: list[int]) -> DealLink:
    """A logged contact (and its follow-up) goes with the client's open deal: with one
    open deal (that ``actor`` sees) they are linked to it at once; with several, the
    deals are returned to choose from (:func:`do_link_to_deal`)."""
    from services.deal_lists import open_deals_of_client

    if client_id is None or not activity_ids:
        return DealLink()
    deals = await open_deals_of_client(actor, client_id)
    if len(deals) == 1:
        await do_link_to_deal(actor, activity_ids, deals[0].id)
        return DealLink(linked=deals[0])
    return DealLink(choices=deals[:8])


async def do_link_to_deal(actor: User, activity_ids: list[int], deal_id: int | None) -> None:
    """Link the saved activities to one of their client's deals (None: to none)."""
    from services.deals import do_link_activity

    for activity_id in activity_ids:
        await do_link_activity(actor, activity_id, deal_id)
