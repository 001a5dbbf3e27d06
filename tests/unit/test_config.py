"""The server's settings: a flag, else its GRADWIRE_* environment twin, else the default."""

import dataclasses

import pytest

from gradwire_server.config import Config, env_name, parse_args


def test_defaults_without_flags_or_environment():
    assert parse_args([], environ={}) == Config()


def test_every_setting_has_a_flag_and_an_environment_twin():
    for field in dataclasses.fields(Config):
        flag = "--" + field.name.replace("_", "-")
        value = {"device": "cpu", "host": "127.0.0.2", "log_format": "json"}.get(field.name, "7")
        assert getattr(parse_args([flag, value], environ={}), field.name) == type(getattr(Config(), field.name))(value)
        assert getattr(parse_args([], environ={env_name(field.name): value}), field.name) == type(getattr(Config(), field.name))(value)


def test_a_flag_wins_over_its_environment_twin():
    config = parse_args(["--port", "6000", "--idle-timeout-s", "2.5"], environ={"GRADWIRE_PORT": "7000", "GRADWIRE_MAX_SESSIONS": "3"})
    assert (config.port, config.idle_timeout_s, config.max_sessions) == (6000, 2.5, 3)


def test_a_device_outside_the_choices_is_refused(capsys):
    with pytest.raises(SystemExit):
        parse_args(["--device", "tpu"], environ={})
    assert "invalid choice" in capsys.readouterr().err
