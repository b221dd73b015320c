"""Putting recording files on a company's SFTP platform, on asyncssh (R16, R19).

The public names are here; each part lives in the module named for what it holds:

- :mod:`.uploader`: :class:`SftpUploader`, which recordings' files go in which order
  (data files, then the sidecar, then the optional done-marker);
- :mod:`.pool`: each destination's bounded pool of kept-alive connections;
- :mod:`.transfer`: one file, written as ``.part``, checked, fsynced, renamed into place;
- :mod:`.connect`: an egress-checked, host-key-pinned, logged-in connection;
- :mod:`.keys`: the pinned host keys and the login credentials, checked before saving;
- :mod:`.errors`: which :mod:`chatrec.errors` an asyncssh or OS error means, by type;
- :mod:`.probe`: Test connection, step by step.
"""

from chatrec.delivery.sftp.errors import classify
from chatrec.delivery.sftp.keys import NO_PIN, check_credentials, known_hosts_line
from chatrec.delivery.sftp.probe import ProbeStep
from chatrec.delivery.sftp.uploader import SftpUploader

__all__ = [
    "NO_PIN",
    "ProbeStep",
    "SftpUploader",
    "check_credentials",
    "classify",
    "known_hosts_line",
]
