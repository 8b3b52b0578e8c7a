"""Password guessing is bounded: five failed logins per user or address, then 429 until the window ends."""

from __future__ import annotations

from leadledger.api.limits import LoginThrottle
from leadledger.services.auth import add_user
from tests.api.conftest import Api
from tests.conftest import NOW


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_throttle_counts_failures_per_user_and_per_address_within_the_window() -> None:
    clock = FakeClock()
    throttle = LoginThrottle(attempts=3, window=60, clock=clock)
    for _ in range(3):
        assert throttle.wait("Sam", "10.0.0.1") == 0
        throttle.failed("Sam", "10.0.0.1")
    assert throttle.wait("sam", "10.0.0.9") == 60  # the user, from any address (names ignore case)
    assert throttle.wait("alex", "10.0.0.1") == 60  # the address, for any user
    assert throttle.wait("alex", "10.0.0.9") == 0
    clock.t += 45
    assert throttle.wait("sam", "10.0.0.9") == 15
    clock.t += 15
    assert throttle.wait("sam", "10.0.0.1") == 0  # the window has passed


def test_a_right_password_clears_the_users_failures_but_not_the_addresses() -> None:
    throttle = LoginThrottle(attempts=2, window=60, clock=FakeClock())
    throttle.failed("sam", "a")
    throttle.succeeded("sam")
    throttle.failed("sam", "b")
    assert throttle.wait("sam", "c") == 0  # one failure since the success
    throttle.failed("alex", "a")
    assert throttle.wait("zoe", "a") == 60  # "a" failed twice (sam, alex)


def test_after_five_failed_logins_even_the_right_password_gets_429(api: Api) -> None:
    add_user(api.engine, "sam", "correct horse battery", "sales", NOW)
    for _ in range(5):
        r = api.client.post("/auth/login", json={"username": "sam", "password": "wrong"})
        assert r.status_code == 401
    r = api.client.post("/auth/login", json={"username": "sam", "password": "correct horse battery"})
    assert r.status_code == 429
    assert r.json()["error"]["status"] == 429
    assert "too many failed logins" in r.json()["error"]["message"]
    assert int(r.headers["Retry-After"]) > 0
    form = api.client.post("/auth/login", data={"username": "sam", "password": "correct horse battery",
                                                "next": "/ui/queue"}, follow_redirects=False)
    assert form.status_code == 303 and form.headers["location"].startswith("/login?error=throttled")
    page = api.client.get(form.headers["location"])
    assert page.status_code == 429 and "Too many failed logins" in page.text
