import pytest

from post3 import errors
from post3.names import bucket_name_problem, check_key


@pytest.mark.parametrize("name", ["abc", "my-bucket", "my.bucket.1", "a" * 63, "0ab", "post3-test"])
def test_valid_bucket_names(name):
    assert bucket_name_problem(name) is None


@pytest.mark.parametrize(
    "name",
    ["ab", "a" * 64, "ABC", "my_bucket", "-abc", "abc-", ".abc", "a..b", "192.168.1.1",
     "xn--abc", "abc-s3alias", "my bucket", "bücket", "", "foo.-bar", "foo-.bar", "a-.-b"],
)
def test_invalid_bucket_names(name):
    assert bucket_name_problem(name) is not None


def test_key_length_limit_counts_utf8_bytes():
    check_key("a" * 1024)
    check_key("é" * 512)
    with pytest.raises(errors.KeyTooLongError):
        check_key("a" * 1025)
    with pytest.raises(errors.KeyTooLongError):
        check_key("é" * 513)
