"""Login throttling under concurrency: slots reserved before any password check,
unknown names treated like known ones, (name, address) and per-address limits,
client addresses believed only from configured proxies."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

import pytest
from argon2 import PasswordHasher
from hypothesis import given
from hypothesis import strategies as st

from perfeval import auditlog, users

PASSWORD = "Zq7-长城-horse-battery"


@pytest.fixture
def people(store):
    users.add_user(store, "王管理", PASSWORD, users.ADMIN, actor="测试")
    users.add_user(store, "赵查看", PASSWORD + "v", users.VIEWER, ["甲街道"], actor="测试")
    return store


@pytest.fixture
def checks(monkeypatch):
    """Counts real argon2 verifications (the call goes through unchanged)."""
    counted = {"n": 0}
    lock = threading.Lock()
    real = PasswordHasher.verify

    def verify(self, hash_, password):
        with lock:
            counted["n"] += 1
        return real(self, hash_, password)

    monkeypatch.setattr(PasswordHasher, "verify", verify)
    return counted


def storm(store, attempts: list[tuple[str, str, str]], now: datetime | None = None) -> list:
    """Every (name, password, address) submitted at the same moment from its own thread,
    through users.authenticate, the function the login form calls. With ``now``
    all attempts happen at exactly that instant."""
    barrier = threading.Barrier(len(attempts))
    results: list = [None] * len(attempts)

    def run(i, name, password, address):
        barrier.wait()
        try:
            results[i] = users.authenticate(store, name, password, address=address, now=now)
        except users.LoginError as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, *a)) for i, a in enumerate(attempts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads)
    return results


def _log(store):
    return store.query_df("SELECT * FROM audit_log WHERE action = ? ORDER BY seq", [auditlog.LOGIN])


def allowance(free: int, seconds: float) -> int:
    """Checks the policy allows within ``seconds``: the free ones, then one after
    1 s, 2 s more, 4 s more …"""
    extra, spent = 0, 0.0
    while spent + 2.0 ** extra <= seconds:
        spent += 2.0 ** extra
        extra += 1
    return free + extra


@pytest.mark.parametrize("sessions", [20, 60])
def test_simultaneous_guesses_at_one_user_get_the_free_allowance_only(people, checks, sessions):
    at = datetime(2026, 3, 2, 8, 0, 0)
    results = storm(people, [("王管理", f"guess-{i:04d}", "203.0.113.9") for i in range(sessions)],
                    now=at)
    assert checks["n"] == users.FREE_USER_FAILURES  # not 20/20 or 60/60
    assert all(isinstance(r, users.LoginError) for r in results)
    wrong = [r for r in results if "用户名或密码不正确" in str(r)]
    slowed = [r for r in results if "秒后再试" in str(r)]
    assert len(wrong) == users.FREE_USER_FAILURES and len(slowed) == sessions - len(wrong)
    assert all(r.wait > 0 for r in slowed)
    log = _log(people)
    assert (log["result"] == auditlog.FAILED).sum() == users.FREE_USER_FAILURES
    assert (log["result"] == auditlog.REFUSED).sum() == sessions - users.FREE_USER_FAILURES


def test_simultaneous_guesses_on_the_real_clock(people, checks):
    # As the page runs it: each attempt timed when its turn comes. The storm takes
    # some seconds on a busy machine; the policy's later slots may open meanwhile.
    started = time.monotonic()
    results = storm(people, [("王管理", f"guess-{i:04d}", "203.0.113.8") for i in range(60)])
    took = time.monotonic() - started
    assert checks["n"] <= allowance(users.FREE_USER_FAILURES, took), (checks["n"], took)
    assert sum("秒后再试" in str(r) for r in results) == 60 - checks["n"]


def test_simultaneous_guesses_over_many_names_hit_the_address_limit(people, checks):
    names = ["王管理", "赵查看"] + [f"不存在{i}" for i in range(58)]
    results = storm(people, [(n, "guess-guess", "203.0.113.10") for n in names],
                    now=datetime(2026, 3, 2, 9, 0, 0))
    assert checks["n"] == users.FREE_ADDRESS_FAILURES
    assert sum("秒后再试" in str(r) for r in results) == len(names) - users.FREE_ADDRESS_FAILURES


def test_right_password_in_the_storm_gets_no_extra_check(people, checks):
    # 59 wrong guesses and the right one at once: the right one buys nothing. The
    # threads' order decides whether it is among the first checked; if so, its
    # success ends the pair's failures (the rule) and the pair starts again, once.
    attempts = [("王管理", f"guess-{i}", "203.0.113.11") for i in range(59)]
    attempts.insert(30, ("王管理", PASSWORD, "203.0.113.11"))
    results = storm(people, attempts, now=datetime(2026, 3, 2, 10, 0, 0))
    if isinstance(results[30], users.LoginError):
        assert checks["n"] == users.FREE_USER_FAILURES
    else:
        assert results[30].name == "王管理"
        assert users.FREE_USER_FAILURES < checks["n"] <= 2 * users.FREE_USER_FAILURES
    assert sum(isinstance(r, users.User) for r in results) <= 1


def test_unknown_names_are_slowed_alike_and_answered_alike(people, checks):
    t0 = datetime(2026, 3, 1, 9, 0, 0)
    answers = {}
    for name in ("王管理", "没有这个人"):
        texts = []
        for k in range(users.FREE_USER_FAILURES + 1):
            with pytest.raises(users.LoginError) as exc:
                users.authenticate(people, name, "wrong-password", address="198.51.100.4",
                                   now=t0 + timedelta(seconds=k * 0.1))
            texts.append(str(exc.value))
        answers[name] = texts
    assert answers["王管理"] == answers["没有这个人"]
    assert "秒后再试" in answers["没有这个人"][-1]
    # Each name had its free checks (the unknown one against a dummy hash), no more.
    assert checks["n"] == 2 * users.FREE_USER_FAILURES
    assert users.login_wait(people, "没有这个人", "198.51.100.4", now=t0 + timedelta(seconds=0.5)) > 0
    # The typed unknown name is stored nowhere in clear.
    stored = people.query_df("SELECT * FROM auth.login_attempts").astype(str).to_string()
    assert "没有这个人" not in stored and "没有这个人" not in _log(people).astype(str).to_string()


def test_an_attacker_elsewhere_cannot_lock_a_user_out(people):
    t0 = datetime(2026, 3, 1, 10, 0, 0)
    for k in range(8):
        with pytest.raises(users.LoginError):
            users.authenticate(people, "赵查看", "wrong-password", address="203.0.113.50",
                               now=t0 + timedelta(seconds=k))
    assert users.login_wait(people, "赵查看", "203.0.113.50", now=t0 + timedelta(seconds=8)) > 0
    # The user at their own address is not held back at all.
    assert users.login_wait(people, "赵查看", "10.1.2.3", now=t0 + timedelta(seconds=8)) == 0
    assert users.authenticate(people, "赵查看", PASSWORD + "v", address="10.1.2.3",
                              now=t0 + timedelta(seconds=8)).name == "赵查看"


def test_a_success_does_not_reset_the_address_limit(people):
    t0 = datetime(2026, 3, 1, 11, 0, 0)
    for k in range(users.FREE_ADDRESS_FAILURES):
        with pytest.raises(users.LoginError):
            users.authenticate(people, f"猜{k}", "guess-guess", address="203.0.113.60",
                               now=t0 + timedelta(seconds=k * 0.1))
    with pytest.raises(users.LoginError, match="秒后再试"):
        users.authenticate(people, "王管理", PASSWORD, address="203.0.113.60",
                           now=t0 + timedelta(seconds=1.05))
    # After the wait one valid login goes through, but the address stays counted.
    assert users.authenticate(people, "王管理", PASSWORD, address="203.0.113.60",
                              now=t0 + timedelta(seconds=3)).name == "王管理"
    with pytest.raises(users.LoginError, match="用户名或密码不正确"):
        users.authenticate(people, "猜x", "guess-guess", address="203.0.113.60",
                           now=t0 + timedelta(seconds=3.1))
    assert users.login_wait(people, "猜y", "203.0.113.60", now=t0 + timedelta(seconds=3.2)) > 0


def test_unknown_address_is_recorded_as_such(people):
    with pytest.raises(users.LoginError):
        users.authenticate(people, "王管理", "wrong-password", address=None)
    users.authenticate(people, "王管理", PASSWORD, address=None)
    assert _log(people)["address"].tolist() == [users.UNKNOWN_ADDRESS] * 2


# -- client addresses ---------------------------------------------------------------

LOOPBACK = users._Hosts("127.0.0.1,::1")  # what Streamlit's server trusts by default


def test_forwarded_for_is_ignored_without_configured_proxies():
    none = users._Hosts("")
    # Direct client: what it writes in the header does not matter.
    assert users.resolve_address("203.0.113.7", ["1.2.3.4"], trusted=none,
                                 server_trusted=LOOPBACK) == "203.0.113.7"
    # On loopback the server itself replaced the peer with the header's value:
    # rotating the header must not give fresh addresses.
    seen = {users.resolve_address(fake, [fake], trusted=none, server_trusted=LOOPBACK)
            for fake in ("10.0.0.1", "10.0.0.2", "10.0.0.3")}
    assert seen == {users.UNKNOWN_ADDRESS}
    assert users.resolve_address("127.0.0.1", [], trusted=none, server_trusted=LOOPBACK) == "127.0.0.1"
    assert users.resolve_address(None, [], trusted=none, server_trusted=LOOPBACK) == users.UNKNOWN_ADDRESS


def test_forwarded_for_is_believed_from_a_configured_proxy():
    local = users._Hosts("127.0.0.1, ::1")
    # nginx on this machine appends the real client; a forged left part is skipped.
    chain = ["6.6.6.6, 198.51.100.23"]
    picked = LOOPBACK.client(["6.6.6.6", "198.51.100.23"])  # what the server put as peer
    assert users.resolve_address(picked, chain, trusted=local, server_trusted=LOOPBACK) == \
        "198.51.100.23"
    # A proxy elsewhere (the server does not rewrite its address, we do).
    remote = users._Hosts("10.0.0.0/8")
    assert users.resolve_address("10.0.0.2", ["198.51.100.24:5555"], trusted=remote,
                                 server_trusted=LOOPBACK) == "198.51.100.24"
    # Not that proxy: the header is ignored.
    assert users.resolve_address("192.0.2.1", ["198.51.100.24"], trusted=remote,
                                 server_trusted=LOOPBACK) == "192.0.2.1"


def test_trusted_proxies_from_the_environment(monkeypatch):
    monkeypatch.delenv("PERFEVAL_TRUSTED_PROXIES", raising=False)
    assert "127.0.0.1" not in users.trusted_proxies()
    monkeypatch.setenv("PERFEVAL_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8, not-an-ip")
    hosts = users.trusted_proxies()
    assert "127.0.0.1" in hosts and "10.9.8.7" in hosts and "11.0.0.1" not in hosts
    assert "not-an-ip" not in hosts


@given(hops=st.lists(st.ip_addresses().map(str), min_size=1, max_size=5))
def test_without_trusted_proxies_a_forged_chain_never_names_an_address(hops):
    # Whatever chain a loopback client forges, it is recorded as unknown, never as
    # one of the addresses it made up.
    peer = LOOPBACK.client(hops)
    got = users.resolve_address(peer, [", ".join(hops)], trusted=users._Hosts(""),
                                server_trusted=LOOPBACK)
    assert got == users.UNKNOWN_ADDRESS
