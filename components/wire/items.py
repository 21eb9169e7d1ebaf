"""Item operations and item events: ``POST /controller/api/item``.

The body is NDJSON, one ``ItemOperation`` a line; versioned items (workflows)
come signed. Sources (sos-berlin/js7): js7-data/shared/src/test/scala/js7/
data/item/ItemOperationTest.scala, VersionedEventTest.scala,
js7-base/shared/src/test/scala/js7/base/crypt/SignedStringTest.scala, and
js7-controller/src/main/scala/js7/controller/web/controller/api/
ItemRoute.scala (the answer: ``{}`` or a 400 problem).
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType


class GenericSignature(msgspec.Struct, kw_only=True):
    """``TYPE``: ``Silly``, ``PGP`` or ``X509`` (a field here, not a tag: the
    signature's kind is data, which the verifier checks)."""

    TYPE: str
    signatureString: str
    algorithm: str | UnsetType = UNSET
    signerId: str | UnsetType = UNSET
    signerCertificate: str | UnsetType = UNSET


class SignedString(msgspec.Struct, kw_only=True):
    string: str
    signature: GenericSignature


class AddVersion(msgspec.Struct, tag_field="TYPE", tag="AddVersion", kw_only=True):
    versionId: str


class AddOrChangeSigned(msgspec.Struct, tag_field="TYPE", tag="AddOrChangeSigned", kw_only=True):
    signedString: SignedString


class AddOrChangeSimple(msgspec.Struct, tag_field="TYPE", tag="AddOrChangeSimple", kw_only=True):
    item: dict[str, Any]


class DeleteSimple(msgspec.Struct, tag_field="TYPE", tag="DeleteSimple", kw_only=True):
    path: str


class RemoveVersioned(msgspec.Struct, tag_field="TYPE", tag="RemoveVersioned", kw_only=True):
    path: str


ItemOperation = AddVersion | AddOrChangeSigned | AddOrChangeSimple | DeleteSimple | RemoveVersioned


class VersionAdded(msgspec.Struct, tag_field="TYPE", tag="VersionAdded", kw_only=True):
    versionId: str


class VersionedItemAdded(msgspec.Struct, tag_field="TYPE", tag="VersionedItemAdded", kw_only=True):
    signed: SignedString


class VersionedItemChanged(
    msgspec.Struct, tag_field="TYPE", tag="VersionedItemChanged", kw_only=True
):
    signed: SignedString


class VersionedItemRemoved(
    msgspec.Struct, tag_field="TYPE", tag="VersionedItemRemoved", kw_only=True
):
    path: str


VersionedEvent = VersionAdded | VersionedItemAdded | VersionedItemChanged | VersionedItemRemoved


# JS7's test signature (``SillySigner.Default``): what the reference signs
# with and, unless configured otherwise, trusts.
SILLY_SIGNATURE = "SILLY-SIGNATURE"


def silly_signed_workflows(version: str, workflows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ``ItemOperation``s adding ``workflows`` as version ``version``,
    each signed with the Silly test signature."""
    signature = GenericSignature(TYPE="Silly", signatureString=SILLY_SIGNATURE)
    ops: list[Any] = [AddVersion(versionId=version)]
    for w in workflows:
        string = msgspec.json.encode({**w, "versionId": version}).decode()
        ops.append(AddOrChangeSigned(signedString=SignedString(string=string, signature=signature)))
    return list(msgspec.to_builtins(ops))
