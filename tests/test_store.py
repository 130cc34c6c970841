"""ResponseStore: transactions, restore, schema versions, concurrent kernels and a killed process."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from se4u.store import MAX_STATE_BYTES, SCHEMA_VERSION, ResponseStore, StoreError

WRITER = """
import sys
from se4u.store import ResponseStore
store = ResponseStore(sys.argv[1])
learner, count = sys.argv[2], int(sys.argv[3])
for i in range(count):
    store.save(learner, f"bank/q{i}", "multiple_choice", {"selected": [str(i)], "writer": sys.argv[4]},
               score=1.0, max_score=1.0, attempts=1)
    store.save(learner, "bank/shared", "multiple_choice", {"n": i, "writer": sys.argv[4]})
    print(i, flush=True)
"""


def test_save_and_load_round_trip(store):
    """Does a saved state come back exactly, for that learner only?"""
    store.save("amina", "intro/q1", "multiple_choice", {"selected": ["a"], "note": "ünïcødé"},
               score=1.0, max_score=1.0, attempts=2)
    saved = store.load("amina", "intro/q1")
    assert saved.state == {"selected": ["a"], "note": "ünïcødé"}
    assert (saved.score, saved.max_score, saved.attempts) == (1.0, 1.0, 2)
    assert store.load("bilal", "intro/q1") is None


def test_latest_state_wins_and_history_keeps_all(store):
    """Is the latest save the one restored, with every earlier save kept in the history?"""
    for i in range(3):
        store.save("amina", "intro/q1", "multiple_choice", {"n": i})
    assert store.load("amina", "intro/q1").state == {"n": 2}
    assert [h["state"]["n"] for h in store.history("amina", "intro/q1")] == [0, 1, 2]


def test_responses_of_filters_by_prefix(store):
    """Does a prefix select one part's activities (and treat % and _ literally)?"""
    store.save("amina", "module1/a", "x", {})
    store.save("amina", "module2/a", "x", {})
    store.save("amina", "module1%/b", "x", {})
    assert [r.activity for r in store.responses_of("amina", "module1/")] == ["module1/a"]


def test_oversized_state_is_refused_and_old_state_kept(store):
    """Is a state over the size limit refused with a message, keeping the previous save?"""
    store.save("amina", "essay", "short_essay", {"text": "first"})
    with pytest.raises(StoreError, match="previously saved answer is kept"):
        store.save("amina", "essay", "short_essay", {"text": "x" * (MAX_STATE_BYTES + 1)})
    assert store.load("amina", "essay").state == {"text": "first"}


def test_schema_is_versioned_and_migrates(tmp_path):
    """Does a version-1 store (no event log) get migrated, keeping its answers?"""
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE se4u_meta (key VARCHAR(64) PRIMARY KEY, value VARCHAR(255) NOT NULL);
        INSERT INTO se4u_meta VALUES ('schema_version', '1');
        CREATE TABLE responses (learner VARCHAR(128), activity VARCHAR(200), kind VARCHAR(40) NOT NULL,
          state TEXT NOT NULL, score FLOAT, max_score FLOAT, attempts INTEGER NOT NULL,
          updated_at DATETIME NOT NULL, PRIMARY KEY (learner, activity));
        INSERT INTO responses VALUES ('amina', 'intro/q1', 'multiple_choice', '{"selected": ["b"]}',
          NULL, NULL, 1, '2026-01-01 00:00:00');
    """)
    conn.commit()
    conn.close()
    store = ResponseStore(f"sqlite:///{path}")
    assert store.schema_version == SCHEMA_VERSION
    assert store.load("amina", "intro/q1").state == {"selected": ["b"]}
    store.save("amina", "intro/q1", "multiple_choice", {"selected": ["a"]})
    assert len(store.history("amina", "intro/q1")) == 1


def test_newer_store_is_refused_with_a_message(tmp_path):
    """Does a store written by newer software give a clear message instead of damage?"""
    path = tmp_path / "new.sqlite"
    ResponseStore(f"sqlite:///{path}").close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE se4u_meta SET value = '99' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="newer than this course software"):
        ResponseStore(f"sqlite:///{path}")


def test_unopenable_store_gives_a_message(tmp_path):
    """Is a store path that cannot be created reported, naming the path?"""
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError, match="cannot be opened"):
        ResponseStore(f"sqlite:///{blocker / 'sub' / 'x.sqlite'}")


def test_corrupt_row_restores_as_empty(store):
    """Does a row whose state is not JSON restore as empty rather than crash?"""
    store.save("amina", "q", "x", {"a": 1})
    with store.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE responses SET state = '{not json'")
    assert store.load("amina", "q").state == {}


def _writer(url: str, learner: str, count: int, name: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", WRITER, url, learner, str(count), name],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_two_kernels_of_one_learner_lose_nothing(store_url):
    """Do two processes saving for the same learner at once both get every answer stored?"""
    writers = [_writer(store_url, "amina", 150, name) for name in ("left", "right")]
    for proc in writers:
        _out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
    store = ResponseStore(store_url)
    rows = store.responses_of("amina")
    assert len(rows) == 151  # q0..q149 and the shared one
    assert len(store.history("amina", "bank/shared")) == 300
    assert store.check() == "ok"


@pytest.mark.slow
def test_sigkill_mid_stream_leaves_every_committed_answer(store_url, tmp_path):
    """After SIGKILL in the middle of a stream of saves, is the store readable with every committed answer?"""
    proc = _writer(store_url, "amina", 100_000, "killed")
    confirmed = -1
    deadline = time.monotonic() + 60
    while confirmed < 200 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line:
            confirmed = int(line.split()[0])
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert confirmed >= 200, proc.stderr.read()
    store = ResponseStore(store_url)
    assert store.check() == "ok"
    for i in range(confirmed + 1):  # every save the writer reported as done is there
        assert store.load("amina", f"bank/q{i}").state["selected"] == [str(i)]
    shared = store.load("amina", "bank/shared").state["n"]
    assert shared >= confirmed
    assert json.dumps(store.load("amina", "bank/shared").state)


def test_default_store_follows_the_environment(tmp_path, monkeypatch):
    """Does the kernel's store come from $SE4U_STORE, as a path or a URL?"""
    from se4u.store import default_store

    monkeypatch.setenv("SE4U_STORE", str(tmp_path / "a.sqlite"))
    assert default_store().url == f"sqlite:///{(tmp_path / 'a.sqlite').resolve()}"
    monkeypatch.setenv("SE4U_STORE", f"sqlite:///{tmp_path / 'b.sqlite'}")
    assert default_store().url.endswith("b.sqlite")
    assert Path(tmp_path / "b.sqlite").exists()


def test_config_file_names_the_store(tmp_path, monkeypatch):
    """Is the store read from the config file when no environment variable is set?"""
    from se4u.config import ConfigError, load_settings

    config = tmp_path / "config.toml"
    config.write_text(f'[se4u]\nstore = "{tmp_path / "c.sqlite"}"\n')
    monkeypatch.delenv("SE4U_STORE", raising=False)
    monkeypatch.setenv("SE4U_CONFIG", str(config))
    assert load_settings().store_url.endswith("c.sqlite")
    config.write_text("store = [unclosed")
    with pytest.raises(ConfigError, match=r"config\.toml"):
        load_settings()


@pytest.mark.slow
def test_kernels_opening_a_new_store_at_once(tmp_path):
    """Do six kernels opening the same new store at the same instant all start (no 'database is locked')?"""
    for round_ in range(3):
        url = f"sqlite:///{tmp_path / f'fresh-{round_}.sqlite'}"
        writers = [_writer(url, f"learner{i}", 5, f"w{i}") for i in range(6)]
        for proc in writers:
            _out, err = proc.communicate(timeout=180)
            assert proc.returncode == 0, err
        store = ResponseStore(url)
        assert sum(len(store.responses_of(f"learner{i}")) for i in range(6)) == 6 * 6
