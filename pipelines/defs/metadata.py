"""Metadata that assets report about a polars frame: row count, column schema and a preview."""

import dagster as dg
import polars as pl

PREVIEW_ROWS = 5


def table_schema(frame: pl.DataFrame) -> dg.TableSchema:
    """The frame's columns and polars types as a Dagster table schema."""
    return dg.TableSchema(
        columns=[dg.TableColumn(name, str(dtype)) for name, dtype in frame.schema.items()]
    )


def markdown_table(frame: pl.DataFrame) -> str:
    """The frame as a Markdown table; empty cells stand for nulls."""
    header = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + " --- |" * frame.width
    rows = ["| " + " | ".join(_cell(value) for value in row) + " |" for row in frame.iter_rows()]
    return "\n".join([header, rule, *rows])


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def frame_metadata(frame: pl.DataFrame) -> dict[str, dg.MetadataValue]:
    """Row count and column schema under Dagster's standard keys, plus the first rows."""
    return {
        "dagster/row_count": dg.MetadataValue.int(frame.height),
        "dagster/column_schema": dg.MetadataValue.table_schema(table_schema(frame)),
        "preview": dg.MetadataValue.md(markdown_table(frame.head(PREVIEW_ROWS))),
    }
