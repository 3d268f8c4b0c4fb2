"""Settings of the service, read once from the environment.

``RUAS_ENV`` is ``development`` (the embedded default: demo accounts may be created, a random
secret is generated per start) or ``production`` (every secret must be given; there are no
defaults). Nothing here has a default password or key outside development.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from ruas.domain.errors import InvalidInput
from ruas.register.store import default_data_dir


@dataclass(frozen=True, slots=True)
class Settings:
    """What the service needs to start."""

    env: str = "development"
    data_dir: Path = field(default_factory=default_data_dir)
    secret_key: str = ""
    cookie_secure: bool = False
    anonymous_checks_per_minute: int = 120
    max_upload_bytes: int = 10 * 1024 * 1024
    demo_accounts: bool = False
    payment_webhook_token: str | None = None

    @property
    def development(self) -> bool:
        """True in the embedded/development mode."""
        return self.env == "development"

    @classmethod
    def from_env(cls) -> Settings:
        """Read ``RUAS_*`` variables; refuse to run in production without a secret key."""
        env = os.environ.get("RUAS_ENV", "development").strip().lower()
        if env not in ("development", "production"):
            raise InvalidInput(f"RUAS_ENV={env!r}: expected development or production", field="RUAS_ENV")
        secret = os.environ.get("RUAS_SECRET_KEY", "")
        if env == "production" and len(secret) < 32:
            raise InvalidInput(
                "RUAS_SECRET_KEY must be set to at least 32 random characters in production", field="RUAS_SECRET_KEY"
            )
        if not secret:
            secret = secrets.token_urlsafe(48)  # development only: a fresh key per start
        return cls(
            env=env,
            data_dir=default_data_dir(),
            secret_key=secret,
            cookie_secure=env == "production",
            anonymous_checks_per_minute=int(os.environ.get("RUAS_ANON_CHECKS_PER_MINUTE", "120")),
            max_upload_bytes=int(os.environ.get("RUAS_MAX_UPLOAD_BYTES", str(10 * 1024 * 1024))),
            demo_accounts=env == "development" and os.environ.get("RUAS_DEMO_ACCOUNTS", "1") == "1",
            payment_webhook_token=_webhook_token(),
        )


def _webhook_token() -> str | None:
    """The shared secret a payment provider sends to mark fees paid (``RUAS_PAYMENT_WEBHOOK_TOKEN``); no default."""
    token = os.environ.get("RUAS_PAYMENT_WEBHOOK_TOKEN") or None
    if token is not None and len(token) < 32:
        raise InvalidInput(
            "RUAS_PAYMENT_WEBHOOK_TOKEN must have at least 32 characters", field="RUAS_PAYMENT_WEBHOOK_TOKEN"
        )
    return token
