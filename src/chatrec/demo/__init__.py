"""What ``chatrec demo`` adds to the product: a seeded company and a local SFTP platform.

- :mod:`.company`: the demo company, its services and logins, seeded once;
- :mod:`.platform`: the recording platform ``chatrec demo`` starts beside the server;
- :mod:`.sshd`: the OpenSSH server it runs, in pieces the tests and benchmarks share.

Kept out of ``services`` and ``delivery`` so the product's delivery path holds no demo
server: only the CLI's demo command, the sign-in page's demo hint, the tests and the
benchmarks import it.
"""
