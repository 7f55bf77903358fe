"""post3.client basics: a bucket, an object written and read back, a listing, an error.

    POST3_ENDPOINT_URL=http://127.0.0.1:9000 POST3_ACCESS_KEY=post3 POST3_SECRET_KEY=post3 \\
        python examples/sdk_basics.py [BUCKET]
"""

from __future__ import annotations

import asyncio
import sys

import post3.client
from post3 import errors


async def main(bucket: str) -> None:
    # Endpoint and credentials come from POST3_ENDPOINT_URL / POST3_ACCESS_KEY /
    # POST3_SECRET_KEY; pass them as arguments to connect() to override.
    async with post3.client.connect() as s3:
        created = await s3.ensure_bucket(bucket)
        print(f"bucket {bucket}: {'created' if created else 'already there'}")

        await s3.put_object(Bucket=bucket, Key="greetings/hello.txt", Body=b"Hello, post3!")
        answer = await s3.get_object(Bucket=bucket, Key="greetings/hello.txt")
        async with answer["Body"] as body:
            print("read back:", (await body.read()).decode())

        for name in ("a", "b", "c"):
            await s3.put_object(Bucket=bucket, Key=f"greetings/{name}.txt", Body=name.encode())
        async for entry in s3.iter_objects(bucket, prefix="greetings/"):
            print(f"listed: {entry['Key']} ({entry['Size']} bytes)")

        try:
            await s3.get_object(Bucket=bucket, Key="greetings/missing.txt")
        except errors.NoSuchKey as error:
            print(f"missing object: {error.code} ({error.status})")

        async for entry in s3.iter_objects(bucket):
            await s3.delete_object(Bucket=bucket, Key=entry["Key"])
        await s3.delete_bucket(Bucket=bucket)
        print(f"bucket {bucket}: deleted")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "sdk-basics"))
