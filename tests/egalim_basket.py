"""The EGalim basket the purchase-import tests share: one lycée's purchases of 2023 and their shares computed
by hand (tests/integration/test_egalim_import.py, test_egalim_cli.py, tests/e2e/test_egalim_graphql.py)."""

from __future__ import annotations

from progres.services.purchase_workload import HEADER, csv_bytes

# A small basket of one lycée. By hand (euros HT):
#   S1 2023: meat 200 BIO+IGP (France) + meat 100 LABEL_ROUGE + fish 50 PECHE_DURABLE + fish 150 (none)
#            + fruit 300 BIO+COMMERCE_EQUITABLE (local, PAT) + dairy 100 HVE+EXTERNALITES + other 100 PERFORMANCE
#            total 1000; bio 200+300 = 500 (50 %); SIQO 100 (10 %; the IGP of the bio meat is not counted again);
#            other EGalim 50+100 = 150 (15 %; HVE wins over EXTERNALITES); externalités/performance 100 (10 %);
#            EGalim 850 (85 %); meat+fish EGalim (200+100+50) / (300+200) = 70 %; local 300 (30 %).
#   S2 2023: other 400 BIO -> bio 100 %, EGalim 100 %.
#   Year 2023: total 1400, local 300/1400 = 21.43 %, meat+fish still 70 %.
BASKET = [
    ["2023-01-05", "200.00", "VIANDES_VOLAILLES", "BIO,IGP", "FRANCE", "", "", "", ""],
    ["2023-02-05", "100", "VIANDES_VOLAILLES", "LABEL_ROUGE", "", "", "", "", ""],
    ["2023-02-06", "50.00", "PRODUITS_DE_LA_MER", "PECHE_DURABLE", "", "", "", "", ""],
    ["2023-03-06", "150.00", "PRODUITS_DE_LA_MER", "", "EUROPE", "", "", "", ""],
    ["2023-04-06", "300.00", "FRUITS_ET_LEGUMES", "BIO,COMMERCE_EQUITABLE", "FRANCE", "OUI", "OUI", "PAT", ""],
    ["2023-05-06", "100.00", "PRODUITS_LAITIERS", "HVE,EXTERNALITES", "", "", "", "", ""],
    ["2023-06-30", "100.00", "AUTRES", "PERFORMANCE", "", "", "", "", ""],
    ["2023-07-10", "400.00", "AUTRES", "BIO", "", "", "", "", ""],
]


def basket_file(siret: str, rows: list[list[str]] = BASKET) -> bytes:
    """The basket (or other rows) as a ma cantine CSV file of `siret`, `;`-separated."""
    return csv_bytes(HEADER, [[siret, f"Achat {i}", "Fournisseur", *row] for i, row in enumerate(rows)], ";")
