"""Company requisites: Russian INN/KPP/OGRN/BIK and Ukrainian EDRPOU/IPN, checked by
their published checksums (S-1). Each ``check_*`` returns the cleaned value or
raises :class:`ValidationFailed` naming the field."""

from __future__ import annotations

import re

from services.errors import N_, ValidationFailed

_DIGITS = re.compile(r"\D")


def _digits(field: str, value: str, lengths: tuple[int, ...], label: str) -> str:
    cleaned = _DIGITS.sub("", value or "")
    if len(cleaned) not in lengths or not (value or "").strip().replace(" ", "").isdigit():
        want = " or ".join(str(n) for n in lengths)
        raise ValidationFailed(field, N_("{label} must be {want} digits"), label=label, want=want)
    return cleaned


def _weighted(digits: str, weights: list[int]) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights, strict=False))


def check_inn(value: str, field: str = "inn") -> str:
    """Russian INN: 10 digits (organisations) or 12 (individuals)."""
    inn = _digits(field, value, (10, 12), "INN")
    if len(inn) == 10:
        ok = _weighted(inn, [2, 4, 10, 3, 5, 9, 4, 6, 8]) % 11 % 10 == int(inn[9])
    else:
        n11 = _weighted(inn, [7, 2, 4, 10, 3, 5, 9, 4, 6, 8]) % 11 % 10
        n12 = _weighted(inn, [3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8]) % 11 % 10
        ok = n11 == int(inn[10]) and n12 == int(inn[11])
    if not ok:
        raise ValidationFailed(field, N_("INN check digit is wrong (a typo?)"))
    return inn


def check_kpp(value: str, field: str = "kpp") -> str:
    kpp = (value or "").strip().upper()
    if not re.fullmatch(r"\d{4}[\dA-Z]{2}\d{3}", kpp):
        raise ValidationFailed(field, N_("KPP must be 9 characters: 4 digits, 2 digits or "
                                         "letters, 3 digits"))
    return kpp


def check_ogrn(value: str, field: str = "ogrn") -> str:
    """OGRN (13 digits, organisations) or OGRNIP (15 digits, entrepreneurs)."""
    ogrn = _digits(field, value, (13, 15), "OGRN")
    if len(ogrn) == 13:
        ok = int(ogrn[:12]) % 11 % 10 == int(ogrn[12])
    else:
        ok = int(ogrn[:14]) % 13 % 10 == int(ogrn[14])
    if not ok:
        raise ValidationFailed(field, N_("OGRN check digit is wrong (a typo?)"))
    return ogrn


def check_bik(value: str, field: str = "bik") -> str:
    bik = _digits(field, value, (9,), "BIK")
    if not bik.startswith("04"):
        raise ValidationFailed(field, N_("a Russian BIK starts with 04"))
    return bik


def check_edrpou(value: str, field: str = "edrpou") -> str:
    """Ukrainian EDRPOU (8 digits), with the two-pass weighted checksum."""
    code = _digits(field, value, (8,), "EDRPOU")
    n = int(code)
    weights = [7, 1, 2, 3, 4, 5, 6] if 30_000_000 < n < 60_000_000 else [1, 2, 3, 4, 5, 6, 7]
    check = _weighted(code, weights) % 11
    if check == 10:
        check = _weighted(code, [w + 2 for w in weights]) % 11
    if check % 10 != int(code[7]):
        raise ValidationFailed(field, N_("EDRPOU check digit is wrong (a typo?)"))
    return code


def check_ipn(value: str, field: str = "ipn") -> str:
    """Ukrainian IPN: the 10-digit RNOKPP of a person (checksum) or the 12-digit VAT
    number of a company (format only: no public checksum)."""
    ipn = _digits(field, value, (10, 12), "IPN")
    if len(ipn) == 10:
        check = _weighted(ipn, [-1, 5, 7, 9, 4, 6, 10, 5, 7]) % 11 % 10
        if check != int(ipn[9]):
            raise ValidationFailed(field, N_("IPN check digit is wrong (a typo?)"))
    return ipn


def check_iban(value: str, field: str = "iban") -> str:
    iban = re.sub(r"\s", "", value or "").upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}", iban):
        raise ValidationFailed(field, N_("IBAN must look like "
                                         "UA21 3223 1300 0002 6007 2335 6600 1"))
    rearranged = iban[4:] + iban[:4]
    number = int("".join(str(int(ch, 36)) for ch in rearranged))
    if number % 97 != 1:
        raise ValidationFailed(field, N_("IBAN check digits are wrong (a typo?)"))
    return iban


def check_mfo(value: str, field: str = "mfo") -> str:
    """A Ukrainian bank's MFO: six digits."""
    return _digits(field, value, (6,), "MFO")


def check_account(value: str, field: str = "account") -> str:
    """A Russian settlement or correspondent account: twenty digits."""
    return _digits(field, value, (20,), "an account number")
