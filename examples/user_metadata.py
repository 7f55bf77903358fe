"""User metadata (``x-amz-meta-*``): set on upload, read with HEAD, replaced by a copy.

    POST3_ENDPOINT_URL=http://127.0.0.1:9000 POST3_ACCESS_KEY=post3 POST3_SECRET_KEY=post3 \\
        python examples/user_metadata.py [BUCKET]
"""

from __future__ import annotations

import asyncio
import sys

import post3.client


async def main(bucket: str) -> None:
    async with post3.client.connect() as s3:
        await s3.ensure_bucket(bucket)
        await s3.put_object(
            Bucket=bucket, Key="report.csv", Body=b"year,total\n2024,42\n",
            ContentType="text/csv",
            Metadata={"author": "ada", "source": "ledger"},  # sent as x-amz-meta-author...
        )
        head = await s3.head_object(Bucket=bucket, Key="report.csv")
        print("content type:", head["ContentType"])
        for name, value in sorted(head["Metadata"].items()):
            print(f"metadata {name} = {value}")

        # A copy onto itself with REPLACE is how S3 changes an object's metadata.
        await s3.copy_object(
            Bucket=bucket, Key="report.csv", CopySource={"Bucket": bucket, "Key": "report.csv"},
            MetadataDirective="REPLACE", ContentType="text/csv",
            Metadata={"author": "ada", "reviewed": "yes"},
        )
        head = await s3.head_object(Bucket=bucket, Key="report.csv")
        print("after copy:", ", ".join(f"{k}={v}" for k, v in sorted(head["Metadata"].items())))

        await s3.delete_object(Bucket=bucket, Key="report.csv")
        await s3.delete_bucket(Bucket=bucket)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "user-metadata"))
