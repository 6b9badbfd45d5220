import time

from widget_server.ids import new_id


def test_ids_are_prefixed_unique_and_ordered_by_time():
    first = new_id("evt")
    time.sleep(0.002)
    later = [new_id("evt") for _ in range(1000)]
    assert first.startswith("evt_") and len(first) == 4 + 26
    assert len(set(later)) == 1000
    assert all(first < other for other in later)
