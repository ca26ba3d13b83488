import pytest

from backend.config import ConfigError, load_config


class TestLoadConfig:
    def test_development_generates_and_keeps_secrets(self, tmp_path):
        first = load_config(tmp_path, {})
        second = load_config(tmp_path, {})
        assert first.secret_key == second.secret_key
        assert first.encryption_keys == second.encryption_keys
        assert (tmp_path / "encryption_key").stat().st_mode & 0o077 == 0
        assert first.database_url == f"sqlite:///{tmp_path.as_posix()}/claimbridge.db"

    def test_production_requires_secrets_and_https(self, tmp_path):
        with pytest.raises(ConfigError) as error:
            load_config(
                tmp_path, {"CLAIMBRIDGE_ENV": "production", "CLAIMBRIDGE_PUBLIC_URL": "http://x.example"}
            )
        problems = "\n".join(error.value.problems)
        assert "CLAIMBRIDGE_SECRET_KEY is required" in problems
        assert "CLAIMBRIDGE_ENCRYPTION_KEY is required" in problems
        assert "CLAIMBRIDGE_IDENTITY_KEY is required" in problems
        assert "must use https" in problems
        assert not (tmp_path / "secret_key").exists()

    def test_reports_every_bad_value_at_once(self, tmp_path):
        with pytest.raises(ConfigError) as error:
            load_config(
                tmp_path,
                {
                    "CLAIMBRIDGE_ENCRYPTION_KEY": "short",
                    "CLAIMBRIDGE_ALLOW_PRIVATE_URLS": "maybe",
                    "CLAIMBRIDGE_TOKEN_LIFETIME": "ten",
                    "CLAIMBRIDGE_DATABASE_URL": "mysql://x",
                    "CLAIMBRIDGE_LOG_FORMAT": "xml",
                    "CLAIMBRIDGE_PROXY_COUNT": "-1",
                },
            )
        assert len(error.value.problems) == 6

    def test_normalises_postgres_urls_to_psycopg3(self, tmp_path):
        config = load_config(tmp_path, {"CLAIMBRIDGE_DATABASE_URL": "postgres://u@db/claims"})
        assert config.database_url == "postgresql+psycopg://u@db/claims"

    def test_accepts_rotated_encryption_keys(self, tmp_path):
        from cryptography.fernet import Fernet

        keys = [Fernet.generate_key().decode() for _ in range(2)]
        config = load_config(tmp_path, {"CLAIMBRIDGE_ENCRYPTION_KEY": ",".join(keys)})
        assert config.encryption_keys == keys
