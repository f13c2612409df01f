"""EGalim rules: the order of the groups, the detailed labels and the dated thresholds by territory."""

from __future__ import annotations

from datetime import date

import pytest

from progres.domain.egalim import (
    Family,
    Group,
    Label,
    LocalDefinition,
    Origin,
    Purchase,
    Territory,
    bucket_keys,
    detail_label_of,
    group_of,
    threshold_on,
)


@pytest.mark.parametrize(("labels", "group", "detail"), [
    ({Label.BIO, Label.IGP, Label.HVE, Label.EXTERNALITES}, Group.BIO, "bio"),
    ({Label.IGP, Label.LABEL_ROUGE, Label.FERMIER}, Group.SIQO, "label_rouge"),
    ({Label.STG, Label.PERFORMANCE}, Group.SIQO, "aocaop_igp_stg"),
    ({Label.FERMIER, Label.RUP, Label.EXTERNALITES}, Group.EGALIM_AUTRES, "rup"),
    ({Label.COMMERCE_EQUITABLE, Label.FERMIER}, Group.EGALIM_AUTRES, "commerce_equitable"),
    ({Label.PERFORMANCE, Label.EXTERNALITES}, Group.EXTERNALITES_PERFORMANCE, "externalites"),
    (set(), Group.NON_EGALIM, "non_egalim"),
])
def test_a_purchase_counts_in_the_first_group_and_label_its_labels_reach(labels, group, detail):
    assert group_of(labels) is group
    assert detail_label_of(labels) == detail


@pytest.mark.parametrize(("territory", "day", "egalim", "bio"), [
    (Territory.HEXAGONE, date(2023, 6, 1), 50, 20),
    (Territory.GROUPE_1, date(2025, 12, 31), 20, 5),
    (Territory.GROUPE_1, date(2026, 1, 1), 35, 10),
    (Territory.GROUPE_1, date(2030, 1, 1), 50, 20),
    (Territory.GROUPE_2, date(2024, 3, 1), 5, 2),
    (Territory.GROUPE_2, date(2031, 3, 1), 30, 10),
    (Territory.GROUPE_2, date(2035, 1, 1), 50, 20),
    (Territory.GROUPE_3, date(2029, 12, 31), 30, 10),
    (Territory.GROUPE_3, date(2030, 1, 1), 50, 20),
])
def test_thresholds_are_dated_by_territory(territory, day, egalim, bio):
    threshold = threshold_on(territory, day)
    assert threshold is not None
    assert (threshold.egalim_percent, threshold.bio_percent) == (egalim, bio)
    assert threshold.source


def test_no_threshold_before_the_law_applied():
    assert threshold_on(Territory.HEXAGONE, date(2021, 12, 31)) is None


def test_a_purchase_adds_to_its_group_once_and_to_every_information_it_carries():
    purchase = Purchase(date(2023, 4, 6), 30000, Family.FRUITS_ET_LEGUMES,
                        frozenset({Label.BIO, Label.COMMERCE_EQUITABLE, Label.IGP}), Origin.FRANCE,
                        circuit_court=True, local=True, local_definition=LocalDefinition.PAT)
    assert bucket_keys(purchase) == ("total", "bio", "detail:bio", "bio_dont_commerce_equitable", "france",
                                     "circuit_court", "local", "local:PAT", "france_cc_local")
    other = Purchase(date(2023, 4, 6), 100, Family.AUTRES, frozenset({Label.COMMERCE_EQUITABLE}), Origin.EUROPE)
    assert bucket_keys(other) == ("total", "egalim_autres", "detail:commerce_equitable",
                                  "egalim_autres_dont_commerce_equitable", "europe")
