"""Certificate authority and server certificate for the simulator's HTTPS ports."""

from __future__ import annotations

import datetime
import ipaddress
import logging
import ssl

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .files import SimulatorPaths, write_private

logger = logging.getLogger(__name__)

_CA_DAYS = 3650
_SERVER_DAYS = 397
# A certificate that expires within this margin is issued again at start.
_RENEW_MARGIN = datetime.timedelta(days=2)
_LOOPBACK = ipaddress.IPv4Address("127.0.0.1")


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _load_valid(cert_path: str, key_path: str) -> x509.Certificate | None:
    try:
        with open(cert_path, "rb") as handle:
            cert = x509.load_pem_x509_certificate(handle.read())
        with open(key_path, "rb") as handle:
            serialization.load_pem_private_key(handle.read(), password=None)
    except (OSError, ValueError):
        return None
    if cert.not_valid_after_utc - _now() < _RENEW_MARGIN:
        return None
    return cert


def _issue_ca(paths: SimulatorPaths) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, "akv-onboard simulator CA")]
    )
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=_CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    write_private(paths.ca_key, _key_pem(key))
    write_private(paths.ca_cert, cert.public_bytes(serialization.Encoding.PEM))
    paths.ca_cert.chmod(0o644)
    logger.info("issued a new simulator CA at %s", paths.ca_cert)


def _issue_server(paths: SimulatorPaths) -> None:
    with open(paths.ca_cert, "rb") as handle:
        ca_cert = x509.load_pem_x509_certificate(handle.read())
    with open(paths.ca_key, "rb") as handle:
        ca_key = serialization.load_pem_private_key(handle.read(), password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"the CA key in {paths.ca_key} is not an EC key")
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=_SERVER_DAYS))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(_LOOPBACK), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    write_private(paths.server_key, _key_pem(key))
    write_private(paths.server_cert, cert.public_bytes(serialization.Encoding.PEM))
    logger.info("issued a new server certificate at %s", paths.server_cert)


def ensure_certificates(paths: SimulatorPaths) -> None:
    """Reuse valid certificates or issue new ones, keeping private keys at 0600.

    The CA is kept across restarts so that clients holding its path keep working;
    a new CA always comes with a new server certificate.
    """
    ca = _load_valid(str(paths.ca_cert), str(paths.ca_key))
    if ca is None:
        _issue_ca(paths)
        _issue_server(paths)
    elif _load_valid(str(paths.server_cert), str(paths.server_key)) is None:
        _issue_server(paths)
    for private in (paths.ca_key, paths.server_key):
        private.chmod(0o600)


def server_ssl_context(paths: SimulatorPaths) -> ssl.SSLContext:
    """Build the TLS context that every simulator port serves."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(paths.server_cert), str(paths.server_key))
    return context
