"""Service limits and options: plain data, so workers can receive them through the environment."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass

from aescope.errors import ConfigError

MODEL_ENV = "AESCOPE_SERVE_MODEL"
SETTINGS_ENV = "AESCOPE_SERVE_SETTINGS"


@dataclass(frozen=True)
class ServeSettings:
    """Per-request limits (bounded work per request) and what each answer holds."""

    max_rows: int = 10_000
    max_bytes: int = 8 * 1024 * 1024
    top_k: int = 3
    id_field: str = "id"

    def __post_init__(self) -> None:
        for name in ("max_rows", "max_bytes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be an integer >= 1, got {value!r}")
        if isinstance(self.top_k, bool) or not isinstance(self.top_k, int) or self.top_k < 0:
            raise ConfigError(f"top_k must be an integer >= 0, got {self.top_k!r}")
        if not self.id_field:
            raise ConfigError("id_field must be a non-empty name")

    def to_env(self, model_path: str) -> dict[str, str]:
        """Environment for worker processes that build the app with :func:`app_from_env`."""
        return {MODEL_ENV: model_path, SETTINGS_ENV: json.dumps(asdict(self))}

    @classmethod
    def from_env(cls) -> tuple[str, ServeSettings]:
        try:
            path = os.environ[MODEL_ENV]
        except KeyError:
            raise ConfigError(f"{MODEL_ENV} is not set: which model should be served?") from None
        raw = os.environ.get(SETTINGS_ENV)
        return path, cls(**json.loads(raw)) if raw else cls()
