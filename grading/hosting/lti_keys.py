"""The tool's LTI 1.3 key: an RSA key kept with the hub's state (root only), and its public half as a JWKS.

Its own module so that the hub's set-up (grading/hosting/hub.py) makes the key without importing
grading/hosting/lti.py, whose command line reads the hub's layout: the arrows go one way.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any


def key_dir(state: str | Path) -> Path:
    return Path(state) / "lti"


def ensure_key(state: str | Path) -> Path:
    """The tool's RSA key (2048 bits) in ``<state>/lti/tool-key.pem`` (0600), made if missing."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    folder = key_dir(state)
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    path = folder / "tool-key.pem"
    if not path.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
    return path


def _b64(n: int) -> str:
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def load_key(state: str | Path) -> Any:  # the tool's RSAPrivateKey
    from cryptography.hazmat.primitives import serialization
    path = key_dir(state) / "tool-key.pem"
    if not path.exists():
        raise SystemExit(f"no tool key at {path}: run the hub's set-up (make hub-setup) first")
    return serialization.load_pem_private_key(path.read_bytes(), password=None)


def public_jwk(key: Any) -> dict[str, str]:
    """The public half as a JWK; its kid is the RFC 7638 thumbprint."""
    numbers = key.public_key().public_numbers()
    jwk = {"e": _b64(numbers.e), "kty": "RSA", "n": _b64(numbers.n)}
    kid = base64.urlsafe_b64encode(hashlib.sha256(
        json.dumps(jwk, separators=(",", ":"), sort_keys=True).encode()).digest()).rstrip(b"=").decode()
    return {**jwk, "kid": kid, "alg": "RS256", "use": "sig"}


def jwks(state: str | Path) -> dict[str, list[dict[str, str]]]:
    return {"keys": [public_jwk(load_key(state))]}
