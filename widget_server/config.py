"""Configuration: the only module that reads environment variables."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

PAYMENT_PROVIDERS = ("simulated", "stripe")
DEMO_MODE_VARIABLE = "RIDEPLEDGE_DEMO"
# Set by `ridepledge serve` for the processes it starts (gunicorn's workers read it).
PRODUCTION_VARIABLE = "RIDEPLEDGE_PRODUCTION"


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def _int(env: dict[str, str], name: str, default: int, minimum: int = 0) -> int:
    """An integer setting; a bad value stops start-up with the variable's name."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer, not {raw!r}") from None
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, not {value}")
    return value


@dataclass
class Settings:
    """Everything the service can be configured with, read from the environment once."""

    instance_path: Path
    database_url: str
    redis_url: str | None
    secret_key: str
    public_base_url: str
    payments_provider: str
    stripe_secret_key: str | None
    stripe_publishable_key: str | None
    stripe_webhook_secret: str | None
    stripe_api_base: str | None
    smtp_url: str | None
    webhooks_allow_loopback: bool
    port: int
    # The landing page lists the demo partners' games and trips only in the demo (`ridepledge
    # demo` turns it on; RIDEPLEDGE_DEMO=1 carries it to the processes the demo starts).
    demo_mode: bool = False
    # Production serving (`ridepledge serve`): /metrics then needs METRICS_TOKEN, always.
    production: bool = False
    # Production serving and scale-out (docs/operations.md).
    trusted_proxies: int = 0
    web_concurrency: int = 2
    web_threads: int = 8
    web_timeout: int = 30
    graceful_timeout: int = 25
    db_pool_size: int = 10
    db_max_overflow: int = 10
    db_pool_timeout: int = 5
    db_statement_timeout_ms: int = 10_000
    metrics_token: str | None = None
    prometheus_multiproc_dir: str | None = None
    log_format: str = "json"
    log_level: str = "INFO"
    public_cache_seconds: float = 1.0
    fan_data_retention_days: int = 0
    stripe_max_rps: int = 95
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        instance_path = Path(env.get("INSTANCE_PATH") or "instance").resolve()
        port = int(env.get("PORT") or 8000)
        provider = (env.get("PAYMENTS_PROVIDER") or "simulated").strip().lower()
        if provider not in PAYMENT_PROVIDERS:
            raise ValueError(
                f"PAYMENTS_PROVIDER must be one of {', '.join(PAYMENT_PROVIDERS)}, not {provider!r}"
            )
        return cls(
            instance_path=instance_path,
            database_url=env.get("DATABASE_URL") or f"sqlite:///{instance_path / 'ridepledge.db'}",
            redis_url=env.get("REDIS_URL") or None,
            secret_key=env.get("SECRET_KEY") or _instance_secret(instance_path),
            public_base_url=(env.get("PUBLIC_BASE_URL") or f"http://127.0.0.1:{port}").rstrip("/"),
            payments_provider=provider,
            stripe_secret_key=env.get("STRIPE_SECRET_KEY") or None,
            stripe_publishable_key=env.get("STRIPE_PUBLISHABLE_KEY") or None,
            stripe_webhook_secret=env.get("STRIPE_WEBHOOK_SECRET") or None,
            stripe_api_base=env.get("STRIPE_API_BASE") or None,
            smtp_url=env.get("SMTP_URL") or None,
            webhooks_allow_loopback=_flag(env.get("WEBHOOKS_ALLOW_LOOPBACK")),
            port=port,
            demo_mode=_flag(env.get(DEMO_MODE_VARIABLE)),
            production=_flag(env.get(PRODUCTION_VARIABLE)),
            trusted_proxies=_int(env, "TRUSTED_PROXIES", 0),
            web_concurrency=_int(env, "WEB_CONCURRENCY", 2, minimum=1),
            web_threads=_int(env, "WEB_THREADS", 8, minimum=1),
            web_timeout=_int(env, "WEB_TIMEOUT", 30, minimum=1),
            graceful_timeout=_int(env, "GRACEFUL_TIMEOUT", 25, minimum=1),
            db_pool_size=_int(env, "DB_POOL_SIZE", 10, minimum=1),
            db_max_overflow=_int(env, "DB_MAX_OVERFLOW", 10),
            db_pool_timeout=_int(env, "DB_POOL_TIMEOUT", 5, minimum=1),
            db_statement_timeout_ms=_int(env, "DB_STATEMENT_TIMEOUT_MS", 10_000),
            metrics_token=env.get("METRICS_TOKEN") or None,
            prometheus_multiproc_dir=env.get("PROMETHEUS_MULTIPROC_DIR") or None,
            log_format=_choice(env, "LOG_FORMAT", ("json", "text"), "json"),
            log_level=(env.get("LOG_LEVEL") or "INFO").strip().upper(),
            public_cache_seconds=_int(env, "PUBLIC_CACHE_MS", 1000) / 1000,
            fan_data_retention_days=_int(env, "FAN_DATA_RETENTION_DAYS", 0),
            stripe_max_rps=_int(env, "STRIPE_MAX_REQUESTS_PER_SECOND", 95),
        )

    def enable_demo_mode(self) -> None:
        """Demo mode for this process and the server and worker processes it starts."""
        self.demo_mode = True
        os.environ[DEMO_MODE_VARIABLE] = "1"

    def enable_production(self) -> None:
        """Production mode for this process and the server processes it starts; refused
        without METRICS_TOKEN (the metrics would otherwise trust a client address, which a
        forwarded header can fake)."""
        if not self.metrics_token:
            raise ValueError(
                "METRICS_TOKEN must be set to serve in production: /metrics answers only "
                "requests with `Authorization: Bearer $METRICS_TOKEN` (generate one with "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
            )
        self.production = True
        os.environ[PRODUCTION_VARIABLE] = "1"

    def to_flask(self) -> dict:
        """The Flask config mapping for these settings."""
        return {
            "SECRET_KEY": self.secret_key,
            "SETTINGS": self,
            "JSON_SORT_KEYS": False,
            "MAX_CONTENT_LENGTH": 1024 * 1024,
        }


def _choice(env: dict[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    value = (env.get(name) or default).strip().lower()
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value


def _instance_secret(instance_path: Path) -> str:
    """A per-instance secret kept in the instance folder, so a dev setup needs no SECRET_KEY.

    Production sets SECRET_KEY; this keeps signed links valid across restarts of a demo.
    """
    key_file = instance_path / "secret_key"
    try:
        return key_file.read_text().strip()
    except FileNotFoundError:
        instance_path.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        key_file.write_text(key)
        key_file.chmod(0o600)
        return key
