"""The key that encrypts the account credentials at rest, and the AES-GCM that uses it.

The key is ``ZALODESK_CIPHER_KEY`` when set (base64 of 16, 24 or 32 bytes); otherwise a
key generated on first start into the data directory (``credentials.key``, owner-only),
and reused afterwards. Losing that file loses every stored credential: the accounts
must then be reconnected.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
from pathlib import Path
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from adapters.settings import Settings, SettingsError

KEY_FILE = "credentials.key"
KEY_SIZES = (16, 24, 32)
NONCE_SIZE = 12


class CredentialsUnreadable(Exception):
    """Stored credentials that this key cannot decrypt."""


class CredentialCipher:
    """Seals one account's credentials so that only this key, for this account, opens them."""

    def __init__(self, key: bytes, source: str) -> None:
        if len(key) not in KEY_SIZES:
            raise SettingsError(f"{source} must be a key of 16, 24 or 32 bytes, not {len(key)}")
        self._aead = AESGCM(key)
        self.source = source
        self.key_check = hashlib.sha256(b"zalodesk credentials key\0" + key).hexdigest()

    def seal(self, account_id: UUID, plain: bytes) -> bytes:
        nonce = os.urandom(NONCE_SIZE)
        # The account id as associated data: a row moved to another account does not open.
        return nonce + self._aead.encrypt(nonce, plain, account_id.bytes)

    def open(self, account_id: UUID, sealed: bytes) -> bytes:
        try:
            return self._aead.decrypt(sealed[:NONCE_SIZE], sealed[NONCE_SIZE:], account_id.bytes)
        except (InvalidTag, ValueError):
            raise CredentialsUnreadable(
                f"the stored credentials of account {account_id} cannot be decrypted "
                f"with {self.source}"
            ) from None


def credential_cipher(settings: Settings) -> CredentialCipher:
    """The cipher for this installation's key: from the environment, or the data directory."""
    if settings.cipher_key:
        return CredentialCipher(
            _decoded(settings.cipher_key, "ZALODESK_CIPHER_KEY"), "ZALODESK_CIPHER_KEY"
        )
    path = settings.data_dir.resolve() / KEY_FILE
    source = f"the key file {path}"
    try:
        text = path.read_text() if path.exists() else _generate(path)
    except OSError as ex:
        raise SettingsError(f"cannot use {source}: {ex.strerror or ex}") from None
    return CredentialCipher(_decoded(text, source), source)


def _decoded(text: str, source: str) -> bytes:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SettingsError(f"{source} must be base64 (a key of 16, 24 or 32 bytes)") from None


def _generate(path: Path) -> str:
    """A new key, written owner-only; if another process wrote one first, that one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = base64.b64encode(os.urandom(32)).decode() + "\n"
    draft = path.with_name(f".{KEY_FILE}.{os.getpid()}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(draft, path)  # never replaces a key another process has just written
    except FileExistsError:
        text = path.read_text()
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(draft)
    return text
