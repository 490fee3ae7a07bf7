"""Settings from the environment: production mode passes `check --deploy`; URL translation."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

from itsm.settings import _kombu_url

ROOT = Path(__file__).resolve().parents[2]


def test_production_settings_pass_check_deploy_without_warnings():
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "itsm.example.com",
        "DJANGO_SETTINGS_MODULE": "itsm.settings",
    }
    env.pop("HTTPS_ONLY", None)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by the browser tests' conftest, never in production
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_unix_socket_redis_url_becomes_kombu_socket_url():
    assert (
        _kombu_url("unix:///srv/var/redis.sock?db=2") == "redis+socket:///srv/var/redis.sock?virtual_host=2"
    )
    assert _kombu_url("redis://cache:6379/0") == "redis://cache:6379/0"
