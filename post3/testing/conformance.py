"""BackendConformance: the one test class every backend runs unchanged.

Subclass it in a test module and provide a ``backend`` fixture: an opened Backend on fresh,
empty storage, closed afterwards. Every test is marked ``@pytest.mark.asyncio``, so the suite
runs with pytest-asyncio in strict and in auto mode. The tests are grouped by subject in the
``*_tests`` modules beside this one; read them as the specification of a backend.
"""

from __future__ import annotations

from post3.testing.access_key_tests import AccessKeyTests
from post3.testing.bucket_config_tests import BucketConfigTests
from post3.testing.bucket_tests import BucketTests
from post3.testing.capability_tests import CapabilityTests
from post3.testing.job_lock_tests import JobLockTests
from post3.testing.key_tests import KeyTests, ListingTests
from post3.testing.multipart_tests import MultipartTests
from post3.testing.object_lock_tests import ObjectLockTests
from post3.testing.object_tests import ObjectTests
from post3.testing.stored_bytes_tests import StoredBytesTests
from post3.testing.uniformity_tests import UniformityTests
from post3.testing.versioning_tests import VersioningTests
from post3.testing.write_tests import AtomicityTests, ConditionTests, CopyTests


class BackendConformance(
    BucketTests,
    BucketConfigTests,
    ObjectTests,
    KeyTests,
    ListingTests,
    AtomicityTests,
    ConditionTests,
    CopyTests,
    MultipartTests,
    StoredBytesTests,
    VersioningTests,
    ObjectLockTests,
    JobLockTests,
    UniformityTests,
    AccessKeyTests,
    CapabilityTests,
):
    """Everything a post3 storage backend must do. See ``post3/testing/README.md``."""
