"""nats_creds.py - NATS decentralized authentication for the tests (not a test itself): an
operator, an account with JetStream, and users, as NKeys (Ed25519, NATS' base32 encoding with
a CRC-16) and JWTs signed with them, written the way `nsc` writes them (Debian packages no
`nsc`): the server's configuration (operator JWT, memory resolver with the account JWT
preloaded) and a user's .creds file. Uses python3-cryptography for Ed25519.
"""
import base64
import hashlib
import json
import os
import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

PREFIX = {"operator": 14 << 3, "account": 0, "user": 20 << 3}
PREFIX_SEED = 18 << 3


def _crc16(data):
    """CRC-16/XMODEM, as NKeys use it (polynomial 0x1021, initial 0)."""
    crc = 0
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def _b32(raw):
    return base64.b32encode(raw + _crc16(raw).to_bytes(2, "little")).decode().rstrip("=")


def _b64url(data):
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


class NKey:
    def __init__(self, kind):
        self.kind = kind
        self.seed_bytes = os.urandom(32)
        self.key = Ed25519PrivateKey.from_private_bytes(self.seed_bytes)
        pub = self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.public = _b32(bytes([PREFIX[kind]]) + pub)
        p = PREFIX[kind]
        self.seed = _b32(bytes([PREFIX_SEED | (p >> 5), (p & 31) << 3]) + self.seed_bytes)

    def sign(self, data):
        return self.key.sign(data)


def jwt(issuer, subject, name, nats):
    claims = {"iat": int(time.time()), "iss": issuer.public, "name": name, "sub": subject.public,
              "nats": nats}
    claims["jti"] = base64.b32encode(hashlib.sha256(json.dumps(claims, sort_keys=True)
                                                    .encode()).digest()).decode().rstrip("=")
    head = _b64url(json.dumps({"typ": "JWT", "alg": "ed25519-nkey"}).encode())
    body = _b64url(json.dumps(claims).encode())
    sig = _b64url(issuer.sign(f"{head}.{body}".encode()))
    return f"{head}.{body}.{sig}"


UNLIMITED = {"subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1,
             "wildcards": True, "conn": -1, "leaf": -1,
             "mem_storage": -1, "disk_storage": -1, "streams": -1, "consumer": -1}


class Operator:
    """An operator and one account with JetStream; users made on demand."""

    def __init__(self):
        self.op = NKey("operator")
        self.acc = NKey("account")
        self.op_jwt = jwt(self.op, self.op, "dpscan-test", {"type": "operator", "version": 2})
        self.acc_jwt = jwt(self.op, self.acc, "scanners",
                           {"limits": UNLIMITED, "default_permissions": {"pub": {}, "sub": {}},
                            "type": "account", "version": 2})
        # The system account JetStream needs in this mode (without JetStream limits).
        self.sys = NKey("account")
        self.sys_jwt = jwt(self.op, self.sys, "SYS",
                           {"limits": {"subs": -1, "data": -1, "payload": -1, "imports": -1,
                                       "exports": -1, "wildcards": True, "conn": -1, "leaf": -1},
                            "default_permissions": {"pub": {}, "sub": {}},
                            "type": "account", "version": 2})

    def server_conf(self):
        """Lines for nats-server's configuration."""
        return "\n".join([f"operator: {self.op_jwt}", f"system_account: {self.sys.public}",
                          "resolver: MEMORY", "resolver_preload: {",
                          f"  {self.acc.public}: {self.acc_jwt}",
                          f"  {self.sys.public}: {self.sys_jwt}", "}"])

    def creds(self, path, account=None):
        """A user of this operator's account (or of `account`, an NKey the server does not
        know) as a .creds file."""
        acc = account or self.acc
        user = NKey("user")
        token = jwt(acc, user, "scanner", {"pub": {}, "sub": {}, "subs": -1, "data": -1,
                                           "payload": -1, "type": "user", "version": 2})
        with open(path, "w") as f:
            f.write("-----BEGIN NATS USER JWT-----\n" + token + "\n------END NATS USER JWT------\n\n"
                    "************************* IMPORTANT *************************\n"
                    "NKEY Seed printed below can be used to sign and prove identity.\n"
                    "NKEYs are sensitive and should be treated as secrets.\n\n"
                    "-----BEGIN USER NKEY SEED-----\n" + user.seed +
                    "\n------END USER NKEY SEED------\n\n"
                    "*************************************************************\n")
        return path
