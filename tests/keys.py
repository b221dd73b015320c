"""The key of the SFTP secrets for a test run: every store and every chatrec share it.

``tests/conftest.py`` puts it in ``CHATREC_SECRET_KEY`` for the whole session, so a
server, worker or command line that a test starts reads the secrets the test saved
through :data:`SECRETS`, and no test writes a key file.
"""

from __future__ import annotations

from chatrec.store.secrets import KEY_VARIABLE, SecretBox, generate_key

SECRET_KEY = generate_key()
SECRETS = SecretBox([SECRET_KEY], origin=f"the key in {KEY_VARIABLE}")
