"""Dagster definitions for gan_augment (assets, checks, resources, schedules, sensors)."""
