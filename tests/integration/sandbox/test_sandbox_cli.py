"""`python -m leadlex_sandbox` serves a seeded workspace and says how to reach it."""

import signal
import subprocess
import sys

import requests


def test_the_command_prints_a_working_base_url_key_and_contacts() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "leadlex_sandbox", "--port", "0", "--contacts", "2", "--seed", "5"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            lines.append(line.strip())
            if line.startswith("Serving"):
                break
        settings = dict(line.split("=", 1) for line in lines if line.startswith("LEADLEX_"))
        contacts = [line.split()[1] for line in lines if line.startswith("contact ")]

        response = requests.get(
            f"{settings['LEADLEX_API_BASE_URL']}/v1/contacts/{contacts[0]}/activities",
            headers={"Authorization": f"Bearer {settings['LEADLEX_API_KEY']}"},
            timeout=5,
        )
    finally:
        process.send_signal(signal.SIGINT)  # Ctrl-C
        returncode = process.wait(timeout=5)
        if process.stdout is not None:
            process.stdout.close()

    assert len(contacts) == 2
    assert response.status_code == 200
    assert response.json()["meta"]["total"] == 120
    assert returncode == 0  # a clean stop, no traceback
