import pytest
from cryptography.fernet import Fernet

from backend.crypto import DecryptionError, decrypt_text, encrypt_text, rotate_text


class TestEncryption:
    def test_round_trips_and_hides_plaintext(self, app):
        token = encrypt_text("cs_secret")
        assert "cs_secret" not in token
        assert decrypt_text(token) == "cs_secret"

    def test_old_key_still_decrypts_after_rotation(self, app):
        token = encrypt_text("cs_secret")
        old = app.config["CLAIMBRIDGE_ENCRYPTION_KEYS"]
        app.config["CLAIMBRIDGE_ENCRYPTION_KEYS"] = [Fernet.generate_key().decode(), *old]
        try:
            assert decrypt_text(token) == "cs_secret"
            rotated = rotate_text(token)
            app.config["CLAIMBRIDGE_ENCRYPTION_KEYS"] = app.config["CLAIMBRIDGE_ENCRYPTION_KEYS"][:1]
            assert decrypt_text(rotated) == "cs_secret"
            with pytest.raises(DecryptionError):
                decrypt_text(token)
        finally:
            app.config["CLAIMBRIDGE_ENCRYPTION_KEYS"] = old
