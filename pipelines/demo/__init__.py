"""The deterministic demo-data generator behind `pmp generate`."""

from pipelines.demo.generate import DEFAULT_END_DATE, DEFAULT_SEED, DIALECT_M_SCHOOLS, generate

__all__ = ["DEFAULT_END_DATE", "DEFAULT_SEED", "DIALECT_M_SCHOOLS", "generate"]
