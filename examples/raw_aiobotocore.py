"""Plain aiobotocore against post3, without post3.client: the settings that matter.

    POST3_ENDPOINT_URL=http://127.0.0.1:9000 POST3_ACCESS_KEY=post3 POST3_SECRET_KEY=post3 \\
        python examples/raw_aiobotocore.py [BUCKET]
"""

from __future__ import annotations

import asyncio
import os
import sys

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import ClientError


async def main(bucket: str) -> None:
    session = get_session()
    config = AioConfig(
        region_name="us-east-1",  # the region post3 answers for (POST3_REGION)
        s3={"addressing_style": "path"},  # http://host:port/bucket/key
        signature_version="s3v4",
    )
    async with session.create_client(
        "s3",
        endpoint_url=os.environ.get("POST3_ENDPOINT_URL", "http://127.0.0.1:9000"),
        aws_access_key_id=os.environ.get("POST3_ACCESS_KEY", "post3"),
        aws_secret_access_key=os.environ.get("POST3_SECRET_KEY", "post3"),
        config=config,
    ) as s3:
        await s3.create_bucket(Bucket=bucket)
        await s3.put_object(Bucket=bucket, Key="raw.txt", Body=b"no wrapper needed")
        answer = await s3.get_object(Bucket=bucket, Key="raw.txt", Range="bytes=3-9")
        async with answer["Body"] as body:
            print("range 3-9:", (await body.read()).decode())

        paginator = s3.get_paginator("list_objects_v2")
        async for page in paginator.paginate(Bucket=bucket):
            for entry in page.get("Contents", []):
                print("listed:", entry["Key"])

        try:
            await s3.head_object(Bucket=bucket, Key="nothing-here")
        except ClientError as error:
            print("head of a missing key:", error.response["ResponseMetadata"]["HTTPStatusCode"])

        await s3.delete_object(Bucket=bucket, Key="raw.txt")
        await s3.delete_bucket(Bucket=bucket)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "raw-aiobotocore"))
