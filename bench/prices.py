"""AWS list prices (us-east-1, on demand, arm64 Lambda as the stack deploys) that the cost benchmark turns counts into USD.

Read on 2026-12-04 from the AWS pricing pages (Lambda, API Gateway, DynamoDB, SQS, EventBridge,
SES, S3, Secrets Manager), as also listed in the project's FACTS.md; docs/cost.md repeats the table.
Free tiers are ignored: a shop past its first month pays these.
"""

from __future__ import annotations

PRICES_READ_ON = "2026-12-04"
PER_MILLION = 1_000_000

USD = {
    "lambda request": 0.20 / PER_MILLION,
    # arm64, as every function is deployed (infra/components/layers.py ARCHITECTURE); x86_64: 0.0000166667
    "lambda GB-second": 0.0000133334,
    "api gateway request": 3.50 / PER_MILLION,  # REST API, first 333 million a month
    "dynamodb write unit": 0.625 / PER_MILLION,  # on-demand write request unit
    "dynamodb read unit": 0.125 / PER_MILLION,  # on-demand read request unit
    "sqs request": 0.40 / PER_MILLION,  # standard queue, per 64 KB chunk
    "eventbridge event": 1.00 / PER_MILLION,  # custom events, per 64 KB chunk
    "ses message": 0.10 / 1_000,
    "s3 put": 0.005 / 1_000,  # PUT, COPY, POST, LIST
    "s3 get": 0.0004 / 1_000,  # GET and others
    "secrets manager call": 0.05 / 10_000,
}

# The AWS serverless e-commerce sample (aws-samples/aws-serverless-ecommerce-platform), as the
# issue quotes it: about $0.10 per 1,000 orders for a smaller lifecycle (no labels, tracking or messages).
REFERENCE_SAMPLE_USD_PER_1000 = 0.10

# Typical latency of one call from a Lambda function to the service in the same region, in ms: the
# assumptions bench/lifecycle_cost.py models Lambda's billed duration with (the emulator's own
# latency says nothing about AWS's). Round, unmeasured figures of the order AWS documents and users
# report (DynamoDB "single-digit milliseconds"); a key "service" covers its operations not listed.
LATENCY_MS = {
    "dynamodb": 5.0,  # GetItem, Query, BatchGetItem
    "dynamodb PutItem": 8.0,
    "dynamodb UpdateItem": 8.0,
    "dynamodb DeleteItem": 8.0,
    "dynamodb BatchWriteItem": 12.0,
    "dynamodb TransactWriteItems": 15.0,
    "dynamodb TransactGetItems": 10.0,
    "events PutEvents": 20.0,
    "sqs": 10.0,
    "s3": 30.0,
    "secretsmanager": 30.0,
    "sesv2 SendEmail": 60.0,
}
