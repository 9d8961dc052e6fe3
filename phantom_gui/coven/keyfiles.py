"""Coven key pairs on disk: read a PEM private or public key for a signing algorithm, and
make a new pair (the private key readable by its owner only)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from jwt.algorithms import get_default_algorithms

from phantom_gui.coven.auth import KEY_PAIR_ALGORITHMS

RSA_BITS = 3072
PRIVATE_MODE = 0o600

_FAMILIES: dict[str, tuple[str, tuple[type, ...], tuple[type, ...]]] = {
    "RSA": ("RSA", (rsa.RSAPrivateKey,), (rsa.RSAPublicKey,)),
    "EC": ("elliptic curve", (ec.EllipticCurvePrivateKey,), (ec.EllipticCurvePublicKey,)),
    "OKP": (
        "Ed25519 or Ed448",
        (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey),
        (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey),
    ),
}


def _family(algorithm: str) -> str:
    if algorithm not in KEY_PAIR_ALGORITHMS:
        known = ", ".join(sorted(KEY_PAIR_ALGORITHMS))
        raise ValueError(f"{algorithm!r} does not use key pairs (use one of {known})")
    if algorithm == "EdDSA":
        return "OKP"
    return "EC" if algorithm.startswith("ES") else "RSA"


def read_key(path: Path, algorithm: str, *, private: bool) -> Any:
    """The `private` (else public) key in the PEM file at `path`, checked to sign or verify
    `algorithm` tokens; `ValueError` naming the file when it cannot be read or does not fit."""
    kind, private_types, public_types = _FAMILIES[_family(algorithm)]
    what = "private" if private else "public"
    path = path.expanduser()
    try:
        pem = path.read_bytes()
    except OSError as error:
        raise ValueError(f"cannot read the coven {what} key {path}: {error.strerror}") from None
    try:
        if private:
            key: Any = serialization.load_pem_private_key(pem, password=None)
        else:
            key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError, UnsupportedAlgorithm) as error:
        raise ValueError(
            f"{path} is not an unencrypted PEM {what} key: {error}".rstrip(": ")
        ) from None
    if not isinstance(key, private_types if private else public_types):
        raise ValueError(
            f"{path} holds a key of type {type(key).__name__}; "
            f"{algorithm} needs an {kind} {what} key"
        )
    try:
        get_default_algorithms()[algorithm].prepare_key(key)
    except (ValueError, TypeError) as error:
        raise ValueError(f"{path} is not a usable {algorithm} key: {error}") from None
    return key


def new_private_key(algorithm: str) -> Any:
    """A fresh private key for `algorithm`: RSA 3072 bits, P-256 for ES256, Ed25519 for EdDSA."""
    family = _family(algorithm)
    if family == "RSA":
        return rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    if family == "EC":
        return ec.generate_private_key(ec.SECP256R1())
    return ed25519.Ed25519PrivateKey.generate()


def write_key_pair(directory: Path, key_id: str, algorithm: str) -> tuple[Path, Path]:
    """Write a new key pair for `algorithm` in `directory` as ``<key_id>.pem`` (private,
    mode 0600) and ``<key_id>.pub.pem``; return their paths. `FileExistsError` rather than
    overwrite a key."""
    if not key_id or "/" in key_id or key_id.startswith("."):
        raise ValueError(f"a key id must be a plain file name, got {key_id!r}")
    key = new_private_key(algorithm)
    directory = directory.expanduser()
    directory.mkdir(parents=True, exist_ok=True)
    private_path = directory / f"{key_id}.pem"
    public_path = directory / f"{key_id}.pub.pem"
    for path in (private_path, public_path):
        if path.exists():
            raise FileExistsError(f"{path} exists already: choose another key id or directory")
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    with os.fdopen(os.open(private_path, flags, PRIVATE_MODE), "wb") as private_file:
        private_file.write(private_pem)
    public_path.write_bytes(public_pem)
    return private_path, public_path
