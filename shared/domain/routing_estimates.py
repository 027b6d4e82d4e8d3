"""What routing estimates for a parcel: its zone, weight, shipping rate, delivery date and emissions.

Pure functions of the merchant's shipping profile (`shared/domain/shipping_profile.py`), the location
and the time routing runs. Distance is great-circle (haversine, `shared/domain/geo.py`): roads and
flights are longer, so distance and emissions are lower bounds, the same for every location.

Default emission factors, used for a transport mode the profile gives none for: UK Government (DESNZ)
Greenhouse gas reporting: conversion factors 2025, "Freighting goods" (flat file, column "GHG
Conversion Factor 2025", kg CO2e per tonne.km, direct emissions, i.e. without well-to-tank):

| mode  | row of the flat file                                               | kg CO2e / tonne.km |
|-------|--------------------------------------------------------------------|--------------------|
| van   | Vans, Average (up to 3.5 tonnes), fuel Unknown (the fleet average)  | 0.63823            |
| truck | HGV (all diesel), All HGVs, Average laden                          | 0.10163            |
| air   | Freight flights, International, to/from non-UK, With RF            | 0.89939            |
| rail  | Rail, Freight train                                                | 0.02779            |
| sea   | Cargo ship, Container ship, Average                                | 0.01612            |

https://www.gov.uk/government/publications/greenhouse-gas-reporting-conversion-factors-2025
"""

from __future__ import annotations

import re
from bisect import bisect_left
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from fnmatch import translate

from shared.domain.shipping_profile import DOMESTIC, REST_OF_WORLD, ShippingProfile, TransportMode

DEFAULT_EMISSION_FACTORS: dict[TransportMode, Decimal] = {
    TransportMode.VAN: Decimal("0.63823"),
    TransportMode.TRUCK: Decimal("0.10163"),
    TransportMode.AIR: Decimal("0.89939"),
    TransportMode.RAIL: Decimal("0.02779"),
    TransportMode.SEA: Decimal("0.01612"),
}
EMISSION_FACTOR_SOURCE = (
    "UK Government (DESNZ), Greenhouse gas reporting: conversion factors 2025, Freighting goods, "
    "kg CO2e per tonne.km (van: Vans average up to 3.5 t; truck: All HGVs average laden; air: freight "
    "flights international with RF; rail: freight train; sea: container ship average)"
)
_MAX_SKUS_REMEMBERED = 50_000


class Estimator:
    """A shipping profile indexed for routing: zones by country, rate bands by zone, unit weights
    by SKU (the first matching glob, remembered per SKU), emission factors by mode. Weights are
    whole milligrams (profile weights have at most 6 decimal places of a kg), so that adding them
    up and finding a parcel's rate band is exact and cheap."""

    def __init__(self, profile: ShippingProfile) -> None:
        self.currency = profile.currency
        self._default_mg = to_mg(profile.default_unit_weight_kg)
        self._zone_of: dict[str, str] = {}
        for zone in profile.zones:
            for country in zone.countries:
                self._zone_of.setdefault(country, zone.name)  # the first zone listing it
        bands: dict[str, list[tuple[int, int, Decimal]]] = {}
        for i, rate in enumerate(profile.rates):
            bands.setdefault(rate.zone, []).append((to_mg(rate.max_weight_kg), i, rate.price))
        self._bands = {zone: ([b[0] for b in sorted(v)], [b[2] for b in sorted(v)]) for zone, v in bands.items()}
        self._patterns = [(re.compile(translate(w.sku_pattern)), to_mg(w.kg)) for w in profile.unit_weights]
        self._weights: dict[str, int] = {}
        self.factors: dict[str, float] = {m.value: float(f) for m, f in DEFAULT_EMISSION_FACTORS.items()}
        self.factors.update({m.value: float(f) for m, f in profile.emission_factors.items()})

    def zone(self, origin_country: str, destination_country: str) -> str:
        if origin_country == destination_country:
            return DOMESTIC
        return self._zone_of.get(destination_country, REST_OF_WORLD)

    def unit_weight_mg(self, sku: str) -> int:
        mg = self._weights.get(sku)
        if mg is None:
            mg = next((w for pattern, w in self._patterns if pattern.match(sku)), self._default_mg)
            if len(self._weights) >= _MAX_SKUS_REMEMBERED:
                self._weights.clear()
            self._weights[sku] = mg
        return mg

    def rate(self, zone: str, weight_mg: int) -> Decimal | None:
        """The price of the lightest band of the zone that takes the weight; None when none does."""
        bands = self._bands.get(zone)
        if bands is None:
            return None
        i = bisect_left(bands[0], weight_mg)
        return bands[1][i] if i < len(bands[0]) else None

    def co2e_kg(self, mode: str, distance_km: float | None, weight_mg: int) -> float | None:
        """distance x tonnes x the mode's factor; None without a distance or for an unknown mode."""
        factor = self.factors.get(mode)
        if distance_km is None or factor is None:
            return None
        return distance_km * weight_mg / 1e9 * factor


def to_mg(kg: Decimal) -> int:
    return int(kg * 1_000_000)


_ESTIMATORS: dict[int, tuple[ShippingProfile, Estimator]] = {}


def estimator_for(profile: ShippingProfile) -> Estimator:
    """The profile's index, built once per profile object (a replay routes 100,000 orders with one)."""
    hit = _ESTIMATORS.get(id(profile))
    if hit is not None and hit[0] is profile:
        return hit[1]
    if len(_ESTIMATORS) >= 16:
        _ESTIMATORS.clear()
    estimator = Estimator(profile)
    _ESTIMATORS[id(profile)] = (profile, estimator)
    return estimator


class Clock:
    """The days parcels leave and arrive, for one routing time (`now`, read in UTC).

    A parcel leaves today when routed before the location's cut-off (or when it has none), else
    the next day; it arrives its transit days later. Weekends and holidays are not modelled."""

    def __init__(self, now: datetime) -> None:
        at = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
        self.time = at.time()
        self.today = at.date()
        self.tomorrow = self.today + timedelta(days=1)

    def ship_day(self, cutoff_utc: time | None) -> date:
        return self.today if cutoff_utc is None or self.time < cutoff_utc else self.tomorrow

    def delivery(self, cutoff_utc: time | None, transit_days: int | None) -> date | None:
        """None when the location gives no transit days for the zone: it cannot promise a date."""
        if transit_days is None:
            return None
        return self.ship_day(cutoff_utc) + timedelta(days=transit_days)
