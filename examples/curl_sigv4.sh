#!/usr/bin/env bash
# curl (7.75 or later) signs S3 requests itself with --aws-sigv4.
#
#   POST3_ENDPOINT_URL=http://127.0.0.1:9000 POST3_ACCESS_KEY=post3 POST3_SECRET_KEY=post3 \
#       examples/curl_sigv4.sh [BUCKET]
set -euo pipefail

endpoint=${POST3_ENDPOINT_URL:-http://127.0.0.1:9000}
bucket=${1:-curl-example}
# S3 requires x-amz-content-sha256 on every request signed in the Authorization header, and
# curl 7.x does not send it: say the payload is unsigned, as S3 allows (or send the body's
# hex SHA-256).
s3curl() {
    curl --silent --show-error --fail-with-body \
        --aws-sigv4 "aws:amz:us-east-1:s3" \
        --user "${POST3_ACCESS_KEY:-post3}:${POST3_SECRET_KEY:-post3}" \
        -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
        "$@"
}

s3curl -X PUT "$endpoint/$bucket"
echo "created bucket $bucket"
s3curl -X PUT -H "Content-Type: text/plain" \
    --data-binary "hello from curl" "$endpoint/$bucket/hello.txt"
echo "uploaded hello.txt"
echo "read back: $(s3curl "$endpoint/$bucket/hello.txt")"
s3curl "$endpoint/$bucket?list-type=2" | grep -o '<Key>[^<]*</Key>'
s3curl -X DELETE "$endpoint/$bucket/hello.txt"
s3curl -X DELETE "$endpoint/$bucket"
echo "deleted bucket $bucket"
