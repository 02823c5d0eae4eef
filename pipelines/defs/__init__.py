"""Dagster definitions, loaded by `pipelines.definitions`: thin wiring around the domain logic."""
