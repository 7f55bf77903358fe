#!/usr/bin/env bash
# curl (7.75 or later) signs S3 requests itself with --aws-sigv4.
#
#   POST3_ENDPOINT_URL=http://127.0.0.1:9000 POST3_ACCESS_KEY=post3 POST3_SECRET_KEY=post3 \
#       examples/curl_sigv4.sh [BUCKET]
set -euo pipefail

endpoint=${POST3_ENDPOINT_URL:-http://127.0.0.1:9000}
bucket=${1:-curl-example}
s3curl() {
    curl --silent --show-error --fail-with-body \
        --aws-sigv4 "aws:amz:us-east-1:s3" \
        --user "${POST3_ACCESS_KEY:-post3}:${POST3_SECRET_KEY:-post3}" \
        "$@"
}

s3curl -X PUT "$endpoint/$bucket"
echo "created bucket $bucket"
# curl signs the body's hash only when told to: say it is unsigned, as S3 allows.
s3curl -X PUT -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -H "Content-Type: text/plain" \
    --data-binary "hello from curl" "$endpoint/$bucket/hello.txt"
echo "uploaded hello.txt"
echo "read back: $(s3curl "$endpoint/$bucket/hello.txt")"
s3curl "$endpoint/$bucket?list-type=2" | grep -o '<Key>[^<]*</Key>'
s3curl -X DELETE "$endpoint/$bucket/hello.txt"
s3curl -X DELETE "$endpoint/$bucket"
echo "deleted bucket $bucket"
