"""Documents kept compressed: orders, fulfilment orders and shipments store their JSON document
zlib-compressed in a binary attribute `docz` instead of the plain `doc`.

DynamoDB bills a write by the started kilobytes of the whole item (twice inside a transaction),
and these items are rewritten whole at every step of an order's life: a 3 KB order costs 8 write
units per transactional change, 4 compressed (its JSON, with repeated field names, shrinks to
about 40%). AWS's advice for large attribute values ("Best practices for storing large items").

Orders are compressed with a preset dictionary (shared/adapters/packed_dictionaries.py): a sample
order zlib has "seen" before the document starts, so a typical order's 2.7 KB of JSON take about
300 bytes instead of 1,200 and the whole item stays under 1 KB. The stream says which dictionary
it needs (zlib's FDICT flag and the dictionary's Adler-32 in its header), so `docz` stays one
format: a reader takes a stream with or without a dictionary alike.

Reading takes either form: items written before keep their plain `doc` until their next write,
and a plain `doc` wins when both are present.
"""

from __future__ import annotations

import zlib
from typing import Any

from pydantic import BaseModel

from shared.adapters.packed_dictionaries import ORDER_V1
from shared.domain.bounds import STORED

PACKED, PLAIN = "docz", "doc"
LEVEL = 6  # zlib's default: within a few per cent of 9's size, at a fraction of its time
_FDICT = 0x20  # zlib header, second byte: a preset dictionary's Adler-32 follows
# Every dictionary ever written with, by the Adler-32 zlib puts in the stream. Never remove one.
DICTIONARIES = {zlib.adler32(d): d for d in (ORDER_V1,)}


def pack(document: BaseModel, dictionary: bytes | None = None) -> dict[str, bytes]:
    """The item attribute holding `document`, compressed with `dictionary` when given (it must be
    one of DICTIONARIES, or nothing could read the item back)."""
    data = document.model_dump_json().encode()
    if dictionary is None:
        return {PACKED: zlib.compress(data, LEVEL)}
    if zlib.adler32(dictionary) not in DICTIONARIES:
        raise ValueError("a document can only be packed with a dictionary packed.DICTIONARIES holds")
    packer = zlib.compressobj(LEVEL, zlib.DEFLATED, zlib.MAX_WBITS, 9, zlib.Z_DEFAULT_STRATEGY, dictionary)
    return {PACKED: packer.compress(data) + packer.flush()}


def unpack[M: BaseModel](model: type[M], item: dict[str, Any]) -> M:
    """The document of an item, packed or plain; KeyError when it has neither."""
    if PLAIN in item:
        return model.model_validate_json(item[PLAIN], context=STORED)
    return model.model_validate_json(_inflate(item[PACKED]), context=STORED)


def document_json(item: dict[str, Any]) -> str | None:
    """The document's JSON, packed or plain (None without one): for tools that read items raw."""
    if PLAIN in item:
        return str(item[PLAIN])
    if PACKED in item:
        return _inflate(item[PACKED]).decode()
    return None


def _inflate(value: Any) -> bytes:
    raw = bytes(value.value if hasattr(value, "value") else value)  # boto3's Binary, or bytes
    if len(raw) < 6 or not raw[1] & _FDICT:
        return zlib.decompress(raw)
    dictionary_id = int.from_bytes(raw[2:6], "big")
    if dictionary_id not in DICTIONARIES:
        raise ValueError(f"a packed document needs dictionary {dictionary_id:#010x}, which this version does not have")
    unpacker = zlib.decompressobj(zlib.MAX_WBITS, DICTIONARIES[dictionary_id])
    return unpacker.decompress(raw) + unpacker.flush()
