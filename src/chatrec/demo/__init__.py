"""What ``chatrec demo`` adds to the product: a seeded company and a local SFTP platform.

Kept out of ``services`` and ``delivery`` so the product ships no demo server in its
delivery path: only the CLI's demo command, the sign-in page's demo hint, the tests and
the benchmarks import it.
"""
