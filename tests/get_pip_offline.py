"""Offline stand-in for the get-pip.py that ``ansible-test --venv`` downloads.

ansible-test fetches get-pip from a host this project's machines cannot reach;
``make sanity`` copies this file to ~/.ansible/test/cache/get_pip_24_2.py. It
installs pip with ensurepip, then installs what was asked from the package
index pip is configured with (PyPI).
"""

import subprocess
import sys

args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade"])
if args:
    subprocess.check_call([sys.executable, "-m", "pip", "install", "--disable-pip-version-check", *args])
