"""An amount of money in words, for invoices (S-17): «Одна тысяча двести тридцать
четыре рубля 50 копеек», «Одна тисяча двісті тридцять чотири гривні 50 копійок»,
"One thousand two hundred thirty-four roubles 50 kopecks".

Rules:

* The amount is a ``Decimal`` (never a float) from 0 to 999 999 999 999.99 with at
  most two places after the point (``Decimal("12.500")`` is fine, ``12.505`` is not:
  an amount that has to be rounded is a mistake upstream, not something to hide here).
  A negative amount, NaN or infinity is refused.
* The whole units are in words, the hundredths in two digits: «… 00 копеек».
* Russian and Ukrainian numerals agree with the noun in gender (одна тысяча, две
  тысячи, один рубль, одна гривна, два евро) and the noun takes the form for the
  number: one (1, 21, 101), few (2–4, 22–24) or many (0, 5–20, 25–30, 111–114).
  English has singular and plural only.
* Currencies: RUB, UAH, USD, EUR, KZT, BYN; languages: ru, uk, en. Anything else is
  :class:`~services.errors.ValidationFailed`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from services.errors import N_, ValidationFailed

LANGUAGES = ("ru", "uk", "en")
MAX_AMOUNT = Decimal("999999999999.99")
_CENT = Decimal("0.01")

# --- numerals ------------------------------------------------------------------------
# index = the number; ones[1] and ones[2] depend on gender: (masculine, feminine)
_ONES = {
    "ru": ["", ("один", "одна"), ("два", "две"), "три", "четыре", "пять", "шесть",
           "семь", "восемь", "девять", "десять", "одиннадцать", "двенадцать",
           "тринадцать", "четырнадцать", "пятнадцать", "шестнадцать", "семнадцать",
           "восемнадцать", "девятнадцать"],
    "uk": ["", ("один", "одна"), ("два", "дві"), "три", "чотири", "п'ять", "шість",
           "сім", "вісім", "дев'ять", "десять", "одинадцять", "дванадцять",
           "тринадцять", "чотирнадцять", "п'ятнадцять", "шістнадцять", "сімнадцять",
           "вісімнадцять", "дев'ятнадцять"],
    "en": ["", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
           "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
           "seventeen", "eighteen", "nineteen"],
}
_TENS = {
    "ru": ["", "", "двадцать", "тридцать", "сорок", "пятьдесят", "шестьдесят",
           "семьдесят", "восемьдесят", "девяносто"],
    "uk": ["", "", "двадцять", "тридцять", "сорок", "п'ятдесят", "шістдесят",
           "сімдесят", "вісімдесят", "дев'яносто"],
    "en": ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty",
           "ninety"],
}
_HUNDREDS = {
    "ru": ["", "сто", "двести", "триста", "четыреста", "пятьсот", "шестьсот", "семьсот",
           "восемьсот", "девятьсот"],
    "uk": ["", "сто", "двісті", "триста", "чотириста", "п'ятсот", "шістсот", "сімсот",
           "вісімсот", "дев'ятсот"],
}
_ZERO = {"ru": "ноль", "uk": "нуль", "en": "zero"}

M, F = "m", "f"


@dataclass(frozen=True)
class Noun:
    """A noun's forms for one, few and many (English: one, many, many) and its gender."""

    one: str
    few: str
    many: str
    gender: str = M

    def form(self, n: int, language: str) -> str:
        return (self.one, self.few, self.many)[plural_index(n, language)]


def _en(one: str, many: str) -> Noun:
    return Noun(one, many, many)


# thousand, million, billion (10^3, 10^6, 10^9)
_SCALES = {
    "ru": (Noun("тысяча", "тысячи", "тысяч", F), Noun("миллион", "миллиона", "миллионов"),
           Noun("миллиард", "миллиарда", "миллиардов")),
    "uk": (Noun("тисяча", "тисячі", "тисяч", F), Noun("мільйон", "мільйони", "мільйонів"),
           Noun("мільярд", "мільярди", "мільярдів")),
    "en": (_en("thousand", "thousand"), _en("million", "million"),
           _en("billion", "billion")),
}


@dataclass(frozen=True)
class CurrencyWords:
    """How a currency is said in one language: the unit, the hundredth, and the short
    name a document writes after a figure («руб.», «грн.»)."""

    unit: Noun
    cents: Noun
    short: str


_KOPEK_RU = Noun("копейка", "копейки", "копеек", F)
_KOPEK_UK = Noun("копійка", "копійки", "копійок", F)
_CURRENCIES: dict[str, dict[str, CurrencyWords]] = {
    "RUB": {
        "ru": CurrencyWords(Noun("рубль", "рубля", "рублей"), _KOPEK_RU, "руб."),
        "uk": CurrencyWords(Noun("рубль", "рублі", "рублів"), _KOPEK_UK, "руб."),
        "en": CurrencyWords(_en("rouble", "roubles"), _en("kopeck", "kopecks"), "RUB"),
    },
    "UAH": {
        "ru": CurrencyWords(Noun("гривна", "гривны", "гривен", F), _KOPEK_RU, "грн."),
        "uk": CurrencyWords(Noun("гривня", "гривні", "гривень", F), _KOPEK_UK, "грн."),
        "en": CurrencyWords(_en("hryvnia", "hryvnias"), _en("kopiyka", "kopiykas"), "UAH"),
    },
    "USD": {
        "ru": CurrencyWords(Noun("доллар США", "доллара США", "долларов США"),
                            Noun("цент", "цента", "центов"), "долл. США"),
        "uk": CurrencyWords(Noun("долар США", "долари США", "доларів США"),
                            Noun("цент", "центи", "центів"), "дол. США"),
        "en": CurrencyWords(_en("US dollar", "US dollars"), _en("cent", "cents"), "USD"),
    },
    "EUR": {
        "ru": CurrencyWords(Noun("евро", "евро", "евро"),
                            Noun("евроцент", "евроцента", "евроцентов"), "евро"),
        "uk": CurrencyWords(Noun("євро", "євро", "євро"),
                            Noun("євроцент", "євроценти", "євроцентів"), "євро"),
        "en": CurrencyWords(_en("euro", "euros"), _en("cent", "cents"), "EUR"),
    },
    "KZT": {
        "ru": CurrencyWords(Noun("тенге", "тенге", "тенге"),
                            Noun("тиын", "тиына", "тиынов"), "тенге"),
        "uk": CurrencyWords(Noun("теньге", "теньге", "теньге"),
                            Noun("тиїн", "тиїни", "тиїнів"), "теньге"),
        "en": CurrencyWords(_en("tenge", "tenge"), _en("tiyn", "tiyn"), "KZT"),
    },
    "BYN": {
        "ru": CurrencyWords(Noun("белорусский рубль", "белорусских рубля",
                                 "белорусских рублей"), _KOPEK_RU, "бел. руб."),
        "uk": CurrencyWords(Noun("білоруський рубль", "білоруські рублі",
                                 "білоруських рублів"), _KOPEK_UK, "біл. руб."),
        "en": CurrencyWords(_en("Belarusian rouble", "Belarusian roubles"),
                            _en("kopeck", "kopecks"), "BYN"),
    },
}
CURRENCIES = tuple(_CURRENCIES)


# --- the pieces --------------------------------------------------------------------
def plural_index(n: int, language: str) -> int:
    """0 (one), 1 (few) or 2 (many): which form of a noun goes with ``n``."""
    if language == "en":
        return 0 if n == 1 else 2
    if 11 <= n % 100 <= 19:
        return 2
    last = n % 10
    if last == 1:
        return 0
    return 1 if 2 <= last <= 4 else 2


def _below_thousand(n: int, language: str, gender: str) -> list[str]:
    """The words of 1..999 (none for 0)."""
    words: list[str] = []
    hundreds, rest = divmod(n, 100)
    if language == "en":
        if hundreds:
            words += [_ONES["en"][hundreds], "hundred"]
        if rest >= 20:
            tens, ones = divmod(rest, 10)
            words.append(_TENS["en"][tens] + (f"-{_ONES['en'][ones]}" if ones else ""))
        elif rest:
            words.append(_ONES["en"][rest])
        return words
    if hundreds:
        words.append(_HUNDREDS[language][hundreds])
    if rest >= 20:
        tens, rest = divmod(rest, 10)
        words.append(_TENS[language][tens])
    if rest:
        word = _ONES[language][rest]
        words.append(word[gender == F] if isinstance(word, tuple) else word)
    return words


def number_words(n: int, language: str = "ru", gender: str = M) -> str:
    """A whole number from 0 to 999 999 999 999 in words, lower case; ``gender`` (m or
    f) is that of the noun that follows: ``number_words(2, "ru", "f")`` is «две»."""
    if language not in LANGUAGES:
        raise ValidationFailed("language", N_("the language must be ru, uk or en"))
    if not 0 <= n < 10**12:
        raise ValidationFailed("amount", N_("from 0 to {max}"), max="999 999 999 999")
    if n == 0:
        return _ZERO[language]
    words: list[str] = []
    groups = [(n // 10**9) % 1000, (n // 10**6) % 1000, (n // 1000) % 1000]
    for scale, count in zip(reversed(_SCALES[language]), groups, strict=True):
        if count:
            words += _below_thousand(count, language, scale.gender)
            words.append(scale.form(count, language))
    words += _below_thousand(n % 1000, language, gender)
    return " ".join(words)


def currency_words(currency: str, language: str) -> CurrencyWords:
    """The words of ``currency`` (RUB, UAH, USD, EUR, KZT, BYN) in ``language``."""
    if language not in LANGUAGES:
        raise ValidationFailed("language", N_("the language must be ru, uk or en"))
    try:
        return _CURRENCIES[currency.upper()][language]
    except (KeyError, AttributeError):
        raise ValidationFailed("currency", N_("no words for the currency {currency}; "
                                              "known: {known}"),
                               currency=str(currency), known=", ".join(CURRENCIES))


def split_amount(amount: Decimal) -> tuple[int, int]:
    """(whole units, hundredths) of a money amount; refuses what is no amount."""
    if not isinstance(amount, Decimal):
        raise TypeError(f"amount must be a Decimal, not {type(amount).__name__}")
    if not amount.is_finite():
        raise ValidationFailed("amount", N_("is not a number"))
    if amount < 0:
        raise ValidationFailed("amount", N_("must not be negative"))
    if amount > MAX_AMOUNT:
        raise ValidationFailed("amount", N_("from 0 to {max}"), max="999 999 999 999.99")
    if amount != amount.quantize(_CENT):
        raise ValidationFailed("amount", N_("at most two digits after the point"))
    cents = int(amount * 100)
    return divmod(cents, 100)


def amount_in_words(amount: Decimal, currency: str = "RUB", language: str = "ru") -> str:
    """``amount`` of ``currency`` in words in ``language``, starting with a capital:
    ``amount_in_words(Decimal("1234.50"))`` is «Одна тысяча двести тридцать четыре
    рубля 50 копеек»."""
    names = currency_words(currency, language)
    units, cents = split_amount(amount)
    text = (f"{number_words(units, language, names.unit.gender)} "
            f"{names.unit.form(units, language)} "
            f"{cents:02d} {names.cents.form(cents, language)}")
    return text[0].upper() + text[1:]
