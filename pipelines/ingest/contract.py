"""The input contract (shared/docs/school-exports.md) as data: kinds, columns and sheets."""

MUNICIPALITY_FOLDER = "_municipality"

E_KINDS: dict[str, list[str]] = {
    "skoleni": [
        "Personas kods",
        "Vārds",
        "Uzvārds",
        "Dzimšanas datums",
        "Dzimums",
        "Klase",
        "Izglītības programma",
        "Uzņemšanas datums",
        "Atskaitīšanas datums",
        "Atskaitīšanas iemesls",
        "Atkārtoti mācās",
    ],
    "kavejumi": ["Personas kods", "Klase", "Datums", "Stunda", "Priekšmets", "Atzīme"],
    "zimes": ["Personas kods", "No", "Līdz", "Iemesls", "Iesniegts"],
    "vertejumi": ["Personas kods", "Klase", "Priekšmets", "Datums", "Darba veids", "Vērtējums"],
    "slodze": ["Klase", "Stundas nedēļā"],
}
M_SHEETS: dict[str, list[str]] = {
    "Skolēni": [
        "Skolēns",
        "Personas kods",
        "Dzimšanas datums",
        "Dzimums",
        "Klase",
        "Izglītības programma",
        "Uzņemts",
        "Atskaitīts",
        "Atskaitīšanas iemesls",
        "Atkārtoti mācās",
    ],
    "Kavējumi": ["Skolēns", "Personas kods", "Klase", "Datums", "Stunda", "Priekšmets", "Iemesls"],
    "Vērtējumi": [
        "Skolēns",
        "Personas kods",
        "Klase",
        "Priekšmets",
        "Datums",
        "Vērtējuma veids",
        "Vērtējums",
    ],
}
MUNICIPALITY_KINDS: dict[str, list[str]] = {
    "atbalsts": [
        "Personas kods",
        "Skola",
        "Aktivitāte",
        "Sākuma datums",
        "Beigu datums",
        "Stundas",
        "Atbalsta sniedzējs",
        "IAP",
    ],
    "aktivitates": ["Skola", "Aktivitāte", "Nosaukums", "Datums", "Skolēni", "Vecāki", "Pedagogi"],
    "socialais_statuss": ["Personas kods", "Statuss", "No", "Līdz"],
}
SHEET_KIND = {"Skolēni": "skoleni", "Kavējumi": "kavejumi", "Vērtējumi": "vertejumi"}
