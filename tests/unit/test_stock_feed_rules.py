"""The stock feed's decision (shared/domain/stock_feed.py): which locations count, the buffer, the stamp
that orders two readings, and the SKU a channel knows ours by."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain.channels import ChannelSettings
from shared.domain.locations import Location, LocationType
from shared.domain.stock import StockLevel
from shared.domain.stock_feed import available_to_sell, channel_sku, serves_channels, sold_as_itself

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def loc(location_id: str, *, active: bool = True, ships_to: tuple[str, ...] = ("DE",), pickup: bool = False
        ) -> Location:
    return Location(location_id=location_id, updated_at=NOW, name=location_id, type=LocationType.WAREHOUSE,
                    country="DE", lat=52.5, lon=13.4, ships_to=list(ships_to), pickup_enabled=pickup, active=active)


def lvl(location_id: str, available: int, version: int = 1) -> StockLevel:
    return StockLevel(sku="SKU-1", location_id=location_id, available=available, version=version)


def test_counts_the_locations_that_may_serve_a_channel_only():
    locations = [loc("SHIPS"), loc("PICKUP", ships_to=(), pickup=True), loc("OFF", active=False),
                 loc("NOWHERE", ships_to=())]
    levels = [lvl("SHIPS", 3), lvl("PICKUP", 4), lvl("OFF", 100), lvl("NOWHERE", 50), lvl("UNKNOWN", 7)]

    result = available_to_sell(levels, locations, buffer=0)

    assert (result.figure, result.total) == (7, 7)
    assert [loc.location_id for loc in locations if serves_channels(loc)] == ["SHIPS", "PICKUP"]
    # Every level read counts towards the stamp, served or not: any change is a later reading.
    assert result.stamp == 5


def test_a_negative_level_counts_as_nothing_and_the_buffer_never_goes_below_zero():
    levels = [lvl("A", -5), lvl("B", 3)]
    assert available_to_sell(levels, [loc("A"), loc("B")], buffer=0).figure == 3
    assert available_to_sell(levels, [loc("A"), loc("B")], buffer=2).figure == 1
    assert available_to_sell(levels, [loc("A"), loc("B")], buffer=10).figure == 0
    assert available_to_sell([], [loc("A")], buffer=1).figure == 0


def test_the_channel_sku_is_the_mapping_reversed_ignoring_variant_ids():
    settings = ChannelSettings(sku_mapping={"variant:123": "TEE-M", "SHOP-TEE-M": "TEE-M", "SHOP-CAP": "CAP"})
    assert channel_sku(settings, "TEE-M") == "SHOP-TEE-M"
    assert channel_sku(settings, "CAP") == "SHOP-CAP"
    assert channel_sku(settings, "HOODIE") == "HOODIE"  # no entry: ours as it is
    only_variant = ChannelSettings(sku_mapping={"variant:123": "TEE-M"})
    assert channel_sku(only_variant, "TEE-M") == "TEE-M"
    several = ChannelSettings(sku_mapping={"B-TEE": "TEE", "A-TEE": "TEE"})
    assert channel_sku(several, "TEE") == "A-TEE"  # the first, whatever order the mapping was written in


def test_a_sku_whose_name_the_channel_uses_for_another_of_ours_is_not_told():
    settings = ChannelSettings(sku_mapping={"A": "B"})  # the channel's A is our B; our A has no channel SKU
    assert not sold_as_itself(settings, "A")
    assert sold_as_itself(settings, "B") and channel_sku(settings, "B") == "A"
    assert sold_as_itself(settings, "C")
    assert sold_as_itself(ChannelSettings(sku_mapping={"A": "A"}), "A")


# --- properties ----------------------------------------------------------------------------------

LOCATION_IDS = ["L0", "L1", "L2", "L3"]
locations_st = st.lists(
    st.builds(lambda i, active, ships, pickup: loc(LOCATION_IDS[i], active=active, ships_to=ships, pickup=pickup),
              st.integers(0, 3), st.booleans(), st.sampled_from([(), ("DE",), ("DE", "FR")]), st.booleans()),
    max_size=4, unique_by=lambda location: location.location_id)
levels_st = st.lists(
    st.builds(lvl, st.sampled_from(LOCATION_IDS), st.integers(-1000, 1000), st.integers(0, 10_000)),
    max_size=4, unique_by=lambda level: level.location_id)


@settings(deadline=None)  # a machine under load must not fail a property
@given(levels_st, locations_st, st.integers(0, 2000))
def test_the_figure_is_never_negative_nor_above_what_the_levels_hold(levels, locations, buffer):
    result = available_to_sell(levels, locations, buffer)
    assert 0 <= result.figure <= result.total <= sum(max(0, level.available) for level in levels)


@settings(deadline=None)  # a machine under load must not fail a property
@given(levels_st, locations_st, st.integers(0, 2000), st.integers(0, 2000))
def test_a_larger_buffer_never_tells_more(levels, locations, a, b):
    small, large = sorted((a, b))
    assert available_to_sell(levels, locations, large).figure <= available_to_sell(levels, locations, small).figure
    assert available_to_sell(levels, locations, small).figure - available_to_sell(levels, locations, large).figure \
        <= large - small


@settings(deadline=None)  # a machine under load must not fail a property
@given(levels_st, locations_st, st.lists(st.tuples(st.integers(0, 3), st.integers(-50, 50)), max_size=20))
def test_the_stamp_grows_with_every_change_of_a_level(levels, locations, changes):
    stamp = available_to_sell(levels, locations, 0).stamp
    current = {level.location_id: level for level in levels}
    for index, delta in changes:
        location_id = LOCATION_IDS[index]
        before = current.get(location_id, lvl(location_id, 0, version=0))
        current[location_id] = before.model_copy(update={"available": before.available + delta,
                                                         "version": before.version + 1})
        later = available_to_sell(list(current.values()), locations, 0).stamp
        assert later > stamp  # whatever the change did to the figure, the reading after it is later
        stamp = later
