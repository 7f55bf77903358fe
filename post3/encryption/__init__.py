"""Encryption at rest, done in the core: every backend stores ciphertext without knowing it.

* :mod:`~post3.encryption.segments` -- the stored format: AES-256-GCM segments of 1 MiB stored.
* :mod:`~post3.encryption.keyring` -- post3's key service: master keys, ``post3 kms``.
* :mod:`~post3.encryption.headers` -- SSE-C / SSE-S3 / SSE-KMS request headers, as S3 checks
  them, and the headers S3 answers with.
* :mod:`~post3.encryption.streams` -- the sealing body and the opening object stream.
* :mod:`~post3.encryption.bucket_default` -- a bucket's default encryption.
* :mod:`~post3.encryption.service` -- what the S3 handlers call.

The backend contract rule (see :mod:`post3.backend`): for an encrypted object ``info.size`` is
the plaintext size and the body yields more bytes than that; a backend stores them all and
serves exactly the stored range ``byte_range.resolve(info)`` returns, which may reach past
``info.size``.
"""
