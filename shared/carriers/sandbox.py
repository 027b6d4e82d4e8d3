"""The built-in sandbox carrier: what the local runtime (and any stage without carrier credentials)
ships with. It buys nothing and calls nothing, yet behaves like a carrier:

- Tracking numbers follow the UPU S10 format, ZS12345678 9 XX: service indicator "ZS" (S10's Z
  range is for domestic/bilateral use only, so no international item carries it), 8-digit serial,
  the S10 mod-11 check digit, and "XX" (an ISO 3166 user-assigned code: no postal administration).
  Serials step through all 10^8 values in a scrambled order from a random (or seeded) start, so one
  instance never repeats a number; two instances collide only if their sequences happen to meet.
- The label is a real document: a one-page 4x6 in PDF 1.4 written by hand (no dependency), or ZPL
  whose ^BC barcode a Zebra printer renders. The PDF carries the code as text, not as bars.
- One service, "standard", at 4.95 EUR.
- track() replays a fixed progression by the label's age (_STEPS): label created, picked up (4 h),
  departed the sorting centre (12 h), arrived at destination (30 h), out for delivery (40 h),
  delivered (46 h). It never reads the wall clock: pass `now` (or a `clock` to the constructor),
  and for a label this instance did not make (a new Lambda container), its `labelled_at`.
- A second buy_label for the same reference returns the first label (within the instance).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from shared.carriers.adapter import CHEAPEST, FASTEST, CarrierError, Label, LabelRequest
from shared.domain.address import Address
from shared.domain.tracking import ShipmentStatus, TrackingUpdate

CARRIER = "SANDBOX"
SERVICE = "standard"
RATE = Decimal("4.95")
CURRENCY = "EUR"
SERVICE_INDICATOR = "ZS"
COUNTRY = "XX"
_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)  # UPU S10, left to right over the 8 serial digits
_SERIALS = 10**8
_STRIDE = 7_654_321  # coprime to 10^8 (odd, no factor 5): i * stride mod 10^8 visits every serial

S = ShipmentStatus
_STEPS = (  # (hours after the label, status, message, where: the sender's or the recipient's city)
    (0, S.LABEL_CREATED, "Label created, shipment information received", "from"),
    (4, S.IN_TRANSIT, "Picked up by the sandbox carrier", "from"),
    (12, S.IN_TRANSIT, "Departed the sorting centre", "from"),
    (30, S.IN_TRANSIT, "Arrived at the destination sorting centre", "to"),
    (40, S.OUT_FOR_DELIVERY, "Out for delivery", "to"),
    (46, S.DELIVERED, "Delivered", "to"),
)
_DELIVERY_HOURS = _STEPS[-1][0]


def s10_check_digit(serial: str) -> int:
    """UPU S10: weights 8 6 4 2 3 5 9 7; C = 11 - (sum mod 11); 10 becomes 0 and 11 becomes 5."""
    if len(serial) != 8 or not serial.isdigit():
        raise ValueError("an S10 serial is 8 digits")
    check = 11 - sum(int(d) * w for d, w in zip(serial, _WEIGHTS, strict=True)) % 11
    return {10: 0, 11: 5}.get(check, check)


def is_valid_s10(code: str) -> bool:
    return (len(code) == 13 and code[:2].isalpha() and code[:2].isupper() and code[11:].isalpha()
            and code[11:].isupper() and code[2:11].isdigit() and s10_check_digit(code[2:10]) == int(code[10]))


@dataclass(frozen=True)
class _Issued:
    labelled_at: datetime
    from_city: str | None
    to_city: str | None


class SandboxCarrier:
    provider = "sandbox"

    def __init__(self, seed: int | None = None, *, clock: Callable[[], datetime] | None = None):
        rng = random.Random(seed) if seed is not None else random.SystemRandom()
        self._position = rng.randrange(_SERIALS)
        self._clock = clock
        self._lock = threading.Lock()  # the local runtime calls one instance from several threads
        self._by_reference: dict[str, Label] = {}
        self._issued: dict[str, _Issued] = {}

    def buy_label(self, request: LabelRequest, *, now: datetime | None = None) -> Label:
        if request.service.lower() not in (CHEAPEST, FASTEST, SERVICE):
            raise CarrierError(f"the sandbox carrier has no service {request.service!r}; offered: {SERVICE}",
                               retryable=False)
        at = self._now(now)
        with self._lock:
            if (earlier := self._by_reference.get(request.reference)) is not None:
                return earlier
            self._position += 1
            serial = f"{self._position * _STRIDE % _SERIALS:08d}"
            code = f"{SERVICE_INDICATOR}{serial}{s10_check_digit(serial)}{COUNTRY}"
            render = label_pdf if request.label_format == "PDF" else label_zpl
            label = Label(provider=self.provider, carrier=CARRIER, service=SERVICE, tracking_code=code,
                          label_format=request.label_format, rate_amount=RATE, rate_currency=CURRENCY,
                          provider_shipment_id=f"sbx_{code}", label_bytes=render(code, request, at),
                          created_at=at)
            self._by_reference[request.reference] = label
            self._issued[code] = _Issued(at, request.from_address.city, request.to_address.city)
        return label

    def track(self, tracking_code: str, carrier: str | None = None, *, now: datetime | None = None,
              labelled_at: datetime | None = None) -> list[TrackingUpdate]:
        if not (is_valid_s10(tracking_code) and tracking_code.startswith(SERVICE_INDICATOR)
                and tracking_code.endswith(COUNTRY)):
            raise CarrierError(f"{tracking_code!r} is not a sandbox tracking number", retryable=False, status=404)
        issued = self._issued.get(tracking_code)
        if labelled_at is not None:
            issued = _Issued(_as_utc(labelled_at), issued.from_city if issued else None,
                             issued.to_city if issued else None)
        if issued is None:
            return []  # like a real carrier before its first scan: nothing known yet
        age = self._now(now) - issued.labelled_at
        eta = issued.labelled_at + timedelta(hours=_DELIVERY_HOURS)
        return [
            TrackingUpdate(
                provider=self.provider, provider_event_id=f"{tracking_code}:{i}", tracking_code=tracking_code,
                carrier=CARRIER, status=status, occurred_at=issued.labelled_at + timedelta(hours=hours),
                estimated_delivery=None if status == S.DELIVERED else eta, message=message,
                location=issued.from_city if where == "from" else issued.to_city, raw_status=status.value.lower())
            for i, (hours, status, message, where) in enumerate(_STEPS) if timedelta(hours=hours) <= age
        ]

    def _now(self, now: datetime | None) -> datetime:
        if now is None and self._clock is None:
            raise ValueError("the sandbox carrier reads no clock: pass now=, or clock= to the constructor")
        return _as_utc(now if now is not None else self._clock())  # type: ignore[misc]


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return value.astimezone(UTC)


# ------------------------------------------------------------------ label documents


def _address_lines(a: Address) -> list[str]:
    city = " ".join(p for p in (a.postal_code, a.city) if p)
    return [line for line in (a.name, a.line1, a.line2, city, a.region, a.country) if line]


def _label_text(code: str, request: LabelRequest, at: datetime) -> dict[str, list[str]]:
    return {
        "head": [f"SANDBOX CARRIER - {SERVICE.upper()}"],
        "from": ["FROM", *_address_lines(request.from_address)],
        "to": ["TO", *_address_lines(request.to_address)],
        "code": [f"{code[:2]} {code[2:6]} {code[6:10]} {code[10]} {code[11:]}"],  # as S10 codes are printed
        "foot": [f"{at:%Y-%m-%d %H:%M} UTC  ref {request.reference}",
                 f"{request.parcel.weight_grams / 1000:.2f} kg  sandbox: not valid as postage"],
    }


def label_pdf(code: str, request: LabelRequest, at: datetime) -> bytes:
    """A 4x6 in (288 x 432 pt) PDF 1.4 page; xref offsets computed from the bytes written."""
    lines = _label_text(code, request, at)
    ops = ["0.8 w 10 10 268 412 re S", "10 330 m 278 330 l S", "10 120 m 278 120 l S"]

    def text(x: int, y: int, font: str, size: int, s: str) -> None:
        fits = int(250 / (0.6 * size))  # about what one line of the label holds; longer is cut
        ops.append(f"BT /{font} {size} Tf {x} {y} Td ({_pdf_string(s[:fits])}) Tj ET")

    text(20, 400, "F2", 13, lines["head"][0])
    for i, line in enumerate(lines["from"]):
        text(20, 382 - 9 * i, "F2" if i == 0 else "F1", 7, line)
    for i, line in enumerate(lines["to"]):
        text(20, 312 - 15 * i, "F2" if i == 0 else "F1", 12, line)
    text(20, 90, "F3", 20, lines["code"][0])
    text(20, 62, "F3", 12, f"*{code}*")  # the code as a scanner-style string; no bars drawn
    for i, line in enumerate(lines["foot"]):
        text(20, 36 - 10 * i, "F1", 7, line)
    content = "\n".join(ops).encode("cp1252", errors="replace")
    font = "<< /Type /Font /Subtype /Type1 /BaseFont /{} /Encoding /WinAnsiEncoding >>"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 288 432] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R /F2 6 0 R /F3 7 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        *(font.format(name).encode() for name in ("Helvetica", "Helvetica-Bold", "Courier-Bold")),
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")  # the binary comment tells tools not to mangle EOLs
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)  # each entry exactly 20 bytes
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _pdf_string(s: str) -> str:
    s = "".join(ch if ch.isprintable() else " " for ch in s)
    return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def label_zpl(code: str, request: LabelRequest, at: datetime) -> bytes:
    """ZPL II for a 4x6 in label at 203 dpi; ^CI28 makes field data UTF-8."""
    lines = _label_text(code, request, at)
    fields = [(40, 40, 40, lines["head"][0])]
    fields += [(40, 110 + 28 * i, 24, s) for i, s in enumerate(lines["from"])]
    fields += [(40, 330 + 40 * i, 34, s) for i, s in enumerate(lines["to"])]
    fields += [(40, 1080 + 30 * i, 22, s) for i, s in enumerate(lines["foot"])]
    zpl = ["^XA", "^CI28", "^PW812", "^LL1218"]
    zpl += [f"^FO{x},{y}^A0N,{size},{size}^FD{_zpl_field(s)}^FS" for x, y, size, s in fields]
    zpl.append(f"^FO60,760^BY3^BCN,200,Y,N,N^FD{code}^FS")  # Code 128 with the code printed under it
    zpl.append("^XZ")
    return ("\n".join(zpl) + "\n").encode()


def _zpl_field(s: str) -> str:
    # ^ and ~ start ZPL commands even inside field data.
    return "".join(" " if ch in "^~" or not ch.isprintable() else ch for ch in s)
