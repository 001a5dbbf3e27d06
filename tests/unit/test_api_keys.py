"""API keys as the server keeps them: parsed from a file or a list, hashed, compared in constant time."""

import hashlib

import pytest

from gradwire_server.auth import ApiKeys, KeyFileError, owner_of, parse_key_file, parse_key_list
from gradwire_server.tls import exposure_warnings, is_loopback


def digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def test_a_keys_file_skips_comments_and_blank_lines_and_takes_hashed_keys():
    text = f"# production\n\n  first-key  \nsecond key with spaces\n\t# indented comment\nsha256:{digest('third').hex().upper()}\n"
    assert parse_key_file(text, "keys") == [digest("first-key"), digest("second key with spaces"), digest("third")]


@pytest.mark.parametrize("line", ["sha256:", "sha256:abc", "sha256:" + "g" * 64, "sha256:" + "a" * 66])
def test_a_malformed_hashed_key_names_its_line(line):
    with pytest.raises(KeyFileError, match="keys line 3: a hashed key must be sha256: and 64 hex digits"):
        parse_key_file(f"# comment\nok\n{line}\n", "keys")


def test_a_key_list_is_comma_separated():
    assert parse_key_list(" a , b,,sha256:" + digest("c").hex()) == [digest("a"), digest("b"), digest("c")]


def test_keys_are_kept_hashed_and_checked(tmp_path):
    path = tmp_path / "keys"
    path.write_text("file-key\n")
    keys = ApiKeys("env-key", str(path))
    assert keys.enabled and len(keys) == 2
    assert keys.accepts("env-key") and keys.accepts("file-key")
    assert not keys.accepts("other") and not keys.accepts("") and not keys.accepts(None)
    assert not keys.accepts(digest("file-key").hex())  # the digest is not a key
    assert all(isinstance(d, bytes) and len(d) == 32 for d in keys._digests)  # nothing in clear
    assert "file-key" not in repr(vars(keys))
    assert keys.owner("file-key") == owner_of("file-key") == digest("file-key").hex()


def test_without_keys_everyone_is_accepted_and_no_one_owns_sessions():
    keys = ApiKeys()
    assert not keys.enabled and keys.accepts(None) and keys.owner("x") is None


def test_a_configured_but_empty_file_refuses_everyone(tmp_path):
    path = tmp_path / "keys"
    path.write_text("# all revoked\n")
    keys = ApiKeys(keys_file=str(path))
    assert keys.enabled and not keys.accepts("anything") and not keys.accepts(None)


def test_reload_reports_the_revoked_and_keeps_the_keys_on_a_bad_file(tmp_path):
    path = tmp_path / "keys"
    path.write_text("a\nb\n")
    keys = ApiKeys(keys_file=str(path))
    path.write_text("b\nc\n")
    assert keys.reload() == {owner_of("a")}
    assert keys.accepts("c") and not keys.accepts("a")
    path.unlink()
    with pytest.raises(KeyFileError, match="cannot read the API keys file"):
        keys.reload()
    assert keys.accepts("b") and keys.accepts("c")


def test_an_unreadable_file_stops_the_start(tmp_path):
    with pytest.raises(KeyFileError, match="cannot read"):
        ApiKeys(keys_file=str(tmp_path / "missing"))


@pytest.mark.parametrize("host, loopback", [("127.0.0.1", True), ("::1", True), ("[::1]", True), ("localhost", True),
                                            ("0.0.0.0", False), ("::", False), ("10.1.2.3", False), ("gpu-box", False)])
def test_loopback_hosts(host, loopback):
    assert is_loopback(host) is loopback


def test_an_open_server_beyond_loopback_is_warned_of():
    assert exposure_warnings("127.0.0.1:1", "127.0.0.1", keys=False, tls=False) == []
    no_keys, no_tls = exposure_warnings("0.0.0.0:1", "0.0.0.0", keys=False, tls=False)
    assert "no API keys configured: anyone who reaches 0.0.0.0:1" in no_keys and "no TLS" in no_tls
    assert exposure_warnings("0.0.0.0:1", "0.0.0.0", keys=True, tls=True) == []


def test_keys_given_in_the_environment_are_not_shown(capsys):
    from gradwire_server.config import parse_args

    config = parse_args([], environ={"GRADWIRE_API_KEYS": "top-secret-key"})
    assert config.api_keys == "top-secret-key" and "top-secret-key" not in repr(config)
    with pytest.raises(SystemExit):
        parse_args(["--help"], environ={"GRADWIRE_API_KEYS": "top-secret-key"})
    assert "top-secret-key" not in capsys.readouterr().out
