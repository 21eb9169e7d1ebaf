"""Which signed items a node trusts.

The reference verifies JS7's ``Silly`` test signatures only: the signature
string must be the trusted one — ``SILLY-SIGNATURE`` (JS7's
``SillySigner.Default``) unless ``js7.configuration.trusted-signature-keys.Silly``
names a file (relative to the node's ``config/``) holding another. ``PGP`` and
``X509`` signatures are refused as unknown, as a JS7 node without such keys
refuses them.
"""

from __future__ import annotations

from pathlib import Path

from components.common.config import Config, ConfigProblem
from components.common.web import Problem
from components.wire.items import SILLY_SIGNATURE, SignedString

SILLY_KEY = "js7.configuration.trusted-signature-keys.Silly"


def trusted_silly(cfg: Config, config_dir: Path) -> str:
    """The trusted Silly signature string; a configured file that cannot be
    read stops the node at start, naming the setting."""
    path = cfg.string(SILLY_KEY, "")
    if not path:
        return SILLY_SIGNATURE
    file = Path(path) if Path(path).is_absolute() else config_dir / path
    try:
        return file.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigProblem(cfg.source, SILLY_KEY, f"cannot read {file}: {exc}") from None


def verify(signed: SignedString, trusted: str) -> None:
    """Refuse ``signed`` with JS7's problem unless its signature is trusted."""
    kind = signed.signature.TYPE
    if kind != "Silly":
        raise Problem(
            400,
            "MessageSignedByUnknown",
            f"The signature's TYPE {kind!r} is not trusted here (the reference knows Silly)",
        )
    if signed.signature.signatureString != trusted:
        raise Problem(400, "TamperedWithSignedMessage", "The message does not match its signature")
