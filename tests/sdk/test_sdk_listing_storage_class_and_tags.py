"""What real clients see the same on every backend: listed storage classes, tag order."""

from __future__ import annotations


def test_listings_show_the_storage_class_head_object_shows(s3, bucket) -> None:
    s3.put_object(Bucket=bucket, Key="rrs", Body=b"x", StorageClass="REDUCED_REDUNDANCY")
    s3.put_object(Bucket=bucket, Key="std", Body=b"x")
    assert s3.head_object(Bucket=bucket, Key="rrs")["StorageClass"] == "REDUCED_REDUNDANCY"

    v2 = {o["Key"]: o["StorageClass"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    v1 = {o["Key"]: o["StorageClass"] for o in s3.list_objects(Bucket=bucket)["Contents"]}
    versions = {v["Key"]: v["StorageClass"]
                for v in s3.list_object_versions(Bucket=bucket)["Versions"]}
    expected = {"rrs": "REDUCED_REDUNDANCY", "std": "STANDARD"}
    assert v2 == v1 == versions == expected


def test_tags_come_back_sorted_by_key(s3, bucket) -> None:
    s3.put_object(Bucket=bucket, Key="t", Body=b"x", Tagging="zeta=1&alpha=2&Mid=3&b=4")
    tag_set = s3.get_object_tagging(Bucket=bucket, Key="t")["TagSet"]
    assert [t["Key"] for t in tag_set] == ["Mid", "alpha", "b", "zeta"]

    s3.put_object_tagging(Bucket=bucket, Key="t", Tagging={"TagSet": [
        {"Key": "zeta", "Value": "9"}, {"Key": "alpha", "Value": "8"}]})
    tag_set = s3.get_object_tagging(Bucket=bucket, Key="t")["TagSet"]
    assert tag_set == [{"Key": "alpha", "Value": "8"}, {"Key": "zeta", "Value": "9"}]
