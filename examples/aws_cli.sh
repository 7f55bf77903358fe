#!/usr/bin/env bash
# The AWS CLI against post3: high-level `aws s3` commands and low-level `aws s3api` calls.
#
#   POST3_ENDPOINT_URL=http://127.0.0.1:9000 POST3_ACCESS_KEY=post3 POST3_SECRET_KEY=post3 \
#       examples/aws_cli.sh [BUCKET]
set -euo pipefail

endpoint=${POST3_ENDPOINT_URL:-http://127.0.0.1:9000}
bucket=${1:-aws-cli-example}
export AWS_ACCESS_KEY_ID=${POST3_ACCESS_KEY:-post3}
export AWS_SECRET_ACCESS_KEY=${POST3_SECRET_KEY:-post3}
export AWS_DEFAULT_REGION=us-east-1
s3() { aws --endpoint-url "$endpoint" s3 "$@"; }
s3api() { aws --endpoint-url "$endpoint" s3api "$@"; }

workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT
printf 'hello from the AWS CLI\n' > "$workdir/hello.txt"
mkdir "$workdir/photos"
for name in cat dog; do printf '%s picture\n' "$name" > "$workdir/photos/$name.jpg"; done

s3 mb "s3://$bucket"
s3 cp "$workdir/hello.txt" "s3://$bucket/hello.txt"
s3 sync "$workdir/photos" "s3://$bucket/photos"
s3 ls "s3://$bucket" --recursive
s3api head-object --bucket "$bucket" --key hello.txt --query '{size: ContentLength, etag: ETag}'
s3 cp "s3://$bucket/hello.txt" "$workdir/copy.txt"
cmp "$workdir/hello.txt" "$workdir/copy.txt" && echo "downloaded copy is identical"
s3 rm "s3://$bucket" --recursive
s3 rb "s3://$bucket"
