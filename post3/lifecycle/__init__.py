"""Lifecycle: bucket rules that expire objects, noncurrent versions, delete markers and
abandoned multipart uploads, applied by a background job (:mod:`post3.lifecycle.job`).

:mod:`.rules` parses, validates and renders S3's ``LifecycleConfiguration`` and says when a
rule expires what; :mod:`.job` runs the passes. The configuration is kept as a bucket
configuration document named ``lifecycle`` (the normalised XML), so every backend with
``bucket_config`` stores it.
"""
