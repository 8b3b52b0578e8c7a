"""Typed settings from the environment (LEADLEDGER_*) with CLI overrides."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Where the database is; everything else lives in the stored policy."""

    model_config = SettingsConfigDict(env_prefix="LEADLEDGER_")

    database_url: str = "sqlite:///leadledger.db"


def load_settings(database_url: str | None = None) -> Settings:
    """Settings from the environment, with an explicit URL taking precedence."""
    settings = Settings()
    if database_url:
        settings = settings.model_copy(update={"database_url": database_url})
    return settings
