"""Per-run SSH keys: a client key for paramiko and a host key for the guest's
dropbear, whose public half the client pins.  Both are new for every run."""

from __future__ import annotations

import base64
import subprocess
from dataclasses import dataclass
from pathlib import Path

import paramiko
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ..errors import MissingToolError


@dataclass(frozen=True)
class RunKeys:
    client_key: Path  # OpenSSH private key (ed25519), mode 0600
    client_pub: str  # "ssh-ed25519 AAAA... lam-harness" for authorized_keys
    host_key_dropbear: Path  # dropbear-format host key shipped into the guest
    host_pub: str  # "ssh-ed25519 AAAA..." pinned by the client

    def pinned_host_key(self) -> paramiko.PKey:
        kind, blob = self.host_pub.split()[:2]
        return paramiko.Ed25519Key(data=base64.b64decode(blob))

    def client_pkey(self) -> paramiko.PKey:
        return paramiko.Ed25519Key.from_private_key_file(str(self.client_key))


def generate(folder: Path, dropbearkey: str = "dropbearkey") -> RunKeys:
    """Make both key pairs in ``folder`` (created 0700)."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    key = Ed25519PrivateKey.generate()
    client = folder / "client_ed25519"
    client.write_bytes(b"")
    client.chmod(0o600)
    client.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                         serialization.PrivateFormat.OpenSSH,
                                         serialization.NoEncryption()))
    pub = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                        serialization.PublicFormat.OpenSSH).decode()
    host = folder / "host_ed25519.dropbear"
    host.unlink(missing_ok=True)
    try:
        subprocess.run([dropbearkey, "-t", "ed25519", "-f", str(host)], check=True,
                       capture_output=True)
        out = subprocess.run([dropbearkey, "-y", "-f", str(host)], check=True,
                             capture_output=True, text=True).stdout
    except FileNotFoundError:
        raise MissingToolError(f"{dropbearkey} not found: install dropbear-bin "
                               "(make setup does)") from None
    host_pub = next(line for line in out.splitlines() if line.startswith("ssh-ed25519 "))
    (folder / "host_ed25519.pub").write_text(host_pub + "\n")
    (folder / "client_ed25519.pub").write_text(pub + " lam-harness\n")
    return RunKeys(client, pub + " lam-harness", host, " ".join(host_pub.split()[:2]))


PRIVATE = ("client_ed25519", "host_ed25519.dropbear")


def forget(folder: Path) -> None:
    """Delete the private halves once the run is over (the guest that trusted
    them is gone); the ``.pub`` files stay as the record of which keys it was."""
    for name in PRIVATE:
        (folder / name).unlink(missing_ok=True)
