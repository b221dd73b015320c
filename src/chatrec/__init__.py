"""chatrec: a webchat server whose chats are recorded for quality assurance as each
company's rules say, and delivered to its recording platform over SFTP."""

import warnings

# asyncssh names cryptography's DSA classes as it is imported, and cryptography 51 warns
# at each such use: every chatrec process would start with warnings about asyncssh's own
# import, not about anything chatrec or its operator does. That one warning, from
# asyncssh, is silenced; any other use of DSA still warns (and fails the tests).
warnings.filterwarnings("ignore", message="DSA is deprecated", module=r"asyncssh(\.|$)")
