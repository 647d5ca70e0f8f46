"""S-1: requisites are checked by their checksums; a typo names the field."""

from __future__ import annotations

import pytest

from services.errors import ValidationFailed
from services.requisites import (
    check_bik,
    check_edrpou,
    check_iban,
    check_inn,
    check_ipn,
    check_kpp,
    check_ogrn,
)

VALID = [
    (check_inn, "7707083893"),        # Sberbank
    (check_inn, "500100732259"),      # an individual's INN
    (check_kpp, "773601001"),
    (check_ogrn, "1027700132195"),    # Sberbank
    (check_ogrn, "304500116000157"),  # an entrepreneur's OGRNIP
    (check_bik, "044525225"),
    (check_edrpou, "14360570"),       # PrivatBank
    (check_edrpou, "00032129"),       # Oschadbank
    (check_ipn, "3184710691"),
    (check_iban, "UA21 3223 1300 0002 6007 2335 6600 1"),
]


@pytest.mark.parametrize(("check", "value"), VALID)
def test_valid_values_pass(check, value):
    assert check(value)


@pytest.mark.parametrize(("check", "value", "field"), [
    (check_inn, "7707083894", "inn"),
    (check_inn, "770708389", "inn"),
    (check_inn, "500100732258", "inn"),
    (check_kpp, "77360100", "kpp"),
    (check_ogrn, "1027700132196", "ogrn"),
    (check_bik, "123456789", "bik"),
    (check_edrpou, "14360571", "edrpou"),
    (check_ipn, "3184710692", "ipn"),
    (check_iban, "UA21 3223 1300 0002 6007 2335 6600 2", "iban"),
    (check_inn, "77O7083893", "inn"),  # a letter O for a zero
])
def test_typos_are_refused_naming_the_field(check, value, field):
    with pytest.raises(ValidationFailed) as info:
        check(value)
    assert info.value.field == field
