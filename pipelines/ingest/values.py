"""Parsing the contract's value forms: dates and decimals as schools write them."""

import polars as pl

DATE_FORMATS = ("%d.%m.%Y", "%d.%m.%Y.", "%Y-%m-%d")


def parse_date(column: str) -> pl.Expr:
    """`DD.MM.YYYY`, `DD.MM.YYYY.` or ISO `YYYY-MM-DD`; null when none fits."""
    text = pl.col(column).str.strip_chars()
    return pl.coalesce(
        text.str.strptime(pl.Date, f, strict=False, exact=True) for f in DATE_FORMATS
    )


def parse_decimal(column: str) -> pl.Expr:
    """A number with a decimal comma or point, and an optional `%` with or without a space."""
    text = pl.col(column).str.strip_chars().str.strip_suffix("%").str.strip_chars()
    return text.str.replace(",", ".", literal=True).cast(pl.Float64, strict=False)
