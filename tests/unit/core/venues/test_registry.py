"""The venue registry and the open ``Venue`` id: what every caller outside a venue folder uses."""

from __future__ import annotations

import copy
import pickle

import pytest

from core.model import Capabilities, Venue
from core.venues import all_venues, venue_info
from core.venues.everstrike import EVERSTRIKE
from core.venues.info import VenueInfo
from core.venues.qfex import QFEX, QfexSession


def test_a_venue_id_is_interned_so_is_compares_like_equals() -> None:
    assert Venue("qfex") is QFEX
    assert QFEX == "qfex" and {"qfex": 1}[QFEX] == 1
    assert pickle.loads(pickle.dumps(QFEX)) is QFEX
    assert copy.deepcopy(QFEX) is QFEX
    assert (repr(QFEX), str(QFEX), f"{QFEX}", QFEX.value) == ("Venue('qfex')", "qfex", "qfex",
                                                              "qfex")
    assert type(QFEX.value) is str


def test_the_folders_are_found_and_each_record_matches_its_session() -> None:
    assert [i.id for i in all_venues()] == [EVERSTRIKE, QFEX]  # by label: Everstrike, QFEX
    for info in all_venues():
        assert info.session.venue is info.id
        assert info.session.capabilities == info.capabilities
    assert (QFEX.label, EVERSTRIKE.label) == ("QFEX", "Everstrike")
    assert venue_info(EVERSTRIKE).secret_probe is not None  # connecting does not prove it
    assert venue_info(QFEX).secret_probe is None  # the signed auth frame does


@pytest.mark.parametrize(("fields", "message"), [
    ({"id": Venue("Bad Id")}, "lower-case"),
    ({"label": " "}, "needs a label"),
    ({"flatten_concurrency": 0}, "at least 1"),
    ({"capabilities": Capabilities(full_close=True)}, "capabilities differ"),
    ({"id": Venue("other")}, "QfexSession.venue is"),
])
def test_a_record_that_contradicts_itself_is_refused(fields: dict[str, object],
                                                     message: str) -> None:
    base: dict[str, object] = {"id": QFEX, "label": "QFEX",
                               "capabilities": QfexSession.capabilities, "session": QfexSession}
    with pytest.raises(ValueError, match=message):
        VenueInfo(**{**base, **fields})  # type: ignore[arg-type]
