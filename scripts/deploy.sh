#!/usr/bin/env bash
# Deploy Secure IVR to a real AWS account with the AWS CLI: upload the arm64 zip to S3 under a
# content-addressed key, deploy cloudformation/secure-ivr.yaml, print the stack outputs and the
# commands that come next (keygen, flow).
#
#   scripts/deploy.sh --bucket BUCKET --instance-arn ARN [options]
#
# Required:
#   --bucket NAME          S3 bucket for the function zip (in this account; checked with
#                          --expected-bucket-owner)
#   --instance-arn ARN     Amazon Connect instance ARN (same account and Region)
# Options:
#   --stack-name NAME      CloudFormation stack (default: secure-ivr)
#   --region REGION        AWS Region (default: the instance ARN's Region, which it must be)
#   --profile NAME         AWS CLI profile
#   --zip PATH             function zip (default: target/lambda/bootstrap/bootstrap.zip)
#   --build                run scripts/build-lambda.sh first
#   --s3-prefix PREFIX     key prefix in the bucket (default: secure-ivr)
#   --key-path PATH        SSM path of the private keys (default: /connect/secure-ivr/keys)
#   --alert-email EMAIL    subscribe EMAIL to key access alerts and alarms
#   --param KEY=VALUE      any other template parameter (repeatable), e.g. --param WarmKeyCache=true
#   --dry-run              print the AWS CLI commands instead of running them
#   -h, --help             this help
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
template="$repo/cloudformation/secure-ivr.yaml"

log() { printf 'deploy: %s\n' "$*" >&2; }
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }
die() { log "ERROR: $*"; exit 1; }

bucket="" instance_arn="" stack="secure-ivr" region="" profile="" zip="$repo/target/lambda/bootstrap/bootstrap.zip"
build=0 s3_prefix="secure-ivr" key_path="/connect/secure-ivr/keys" alert_email="" dry_run=0
extra_params=()

need_value() { [[ $# -ge 2 && -n "$2" && "$2" != --* ]] || { log "$1 needs a value"; usage >&2; exit 2; }; }
while [[ $# -gt 0 ]]; do
    case "$1" in
        --bucket) need_value "$@"; bucket="$2"; shift 2 ;;
        --instance-arn) need_value "$@"; instance_arn="$2"; shift 2 ;;
        --stack-name) need_value "$@"; stack="$2"; shift 2 ;;
        --region) need_value "$@"; region="$2"; shift 2 ;;
        --profile) need_value "$@"; profile="$2"; shift 2 ;;
        --zip) need_value "$@"; zip="$2"; shift 2 ;;
        --build) build=1; shift ;;
        --s3-prefix) need_value "$@"; s3_prefix="${2%/}"; shift 2 ;;
        --key-path) need_value "$@"; key_path="${2%/}"; shift 2 ;;
        --alert-email) need_value "$@"; alert_email="$2"; shift 2 ;;
        --param) need_value "$@"; [[ "$2" == ?*=* ]] || die "--param wants KEY=VALUE, got '$2'"; extra_params+=("$2"); shift 2 ;;
        --dry-run) dry_run=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) log "unknown argument: $1"; usage >&2; exit 2 ;;
    esac
done

missing=()
[[ -n "$bucket" ]] || missing+=(--bucket)
[[ -n "$instance_arn" ]] || missing+=(--instance-arn)
if [[ ${#missing[@]} -gt 0 ]]; then
    log "missing required ${missing[*]}"
    usage >&2
    exit 2
fi
[[ "$instance_arn" =~ ^arn:aws[a-z-]*:connect:([a-z0-9-]+):([0-9]{12}):instance/([0-9a-f-]{36})$ ]] ||
    die "--instance-arn '$instance_arn' is not an Amazon Connect instance ARN (arn:aws:connect:REGION:ACCOUNT:instance/ID)"
arn_region="${BASH_REMATCH[1]}" arn_account="${BASH_REMATCH[2]}" instance_id="${BASH_REMATCH[3]}"
[[ -n "$region" ]] || region="$arn_region"
[[ "$region" == "$arn_region" ]] ||
    die "the instance is in $arn_region but --region is $region: Connect only invokes functions in its own Region"

aws_args=(--region "$region")
[[ -z "$profile" ]] || aws_args+=(--profile "$profile")

run() {
    if [[ $dry_run -eq 1 ]]; then
        printf '+'; printf ' %q' "$@"; printf '\n'
    else
        "$@"
    fi
}

if [[ $dry_run -eq 0 ]]; then
    command -v aws >/dev/null || die "the AWS CLI (aws) is not installed: https://docs.aws.amazon.com/cli/"
    account=$(aws "${aws_args[@]}" sts get-caller-identity --query Account --output text) ||
        die "no AWS credentials: run 'aws sso login' or pass --profile"
    [[ "$account" == "$arn_account" ]] ||
        die "credentials are for account $account but the instance is in $arn_account"
else
    account="$arn_account"
fi

if [[ $build -eq 1 ]]; then
    run bash "$repo/scripts/build-lambda.sh"
fi
if [[ $dry_run -eq 0 ]]; then
    [[ -s "$zip" ]] || die "no zip at $zip: run scripts/build-lambda.sh (or pass --build / --zip)"
    digest=$(sha256sum "$zip" | cut -c1-16)
else
    digest="DIGEST"
fi
# A key that changes with the content makes CloudFormation update the code, and never replaces
# an artifact a running stack points to.
key="$s3_prefix/bootstrap-$digest.zip"

log "uploading ${zip#"$repo"/} to s3://$bucket/$key"
run aws "${aws_args[@]}" s3 cp "$zip" "s3://$bucket/$key" --expected-bucket-owner "$account" --only-show-errors

params=("ConnectInstanceArn=$instance_arn" "CodeS3Bucket=$bucket" "CodeS3Key=$key" "KeyPath=$key_path")
[[ -z "$alert_email" ]] || params+=("AlertEmail=$alert_email")
params+=("${extra_params[@]}")

log "deploying stack $stack in $region"
run aws "${aws_args[@]}" cloudformation deploy \
    --template-file "$template" \
    --stack-name "$stack" \
    --capabilities CAPABILITY_IAM \
    --no-fail-on-empty-changeset \
    --tags application=secure-ivr \
    --parameter-overrides "${params[@]}"

if [[ $dry_run -eq 1 ]]; then
    function_arn="arn:aws:lambda:$region:$account:function:FUNCTION"
    run aws "${aws_args[@]}" cloudformation describe-stacks --stack-name "$stack" --query 'Stacks[0].Outputs'
else
    aws "${aws_args[@]}" cloudformation describe-stacks --stack-name "$stack" \
        --query 'Stacks[0].Outputs[].[OutputKey,OutputValue]' --output text |
        while IFS=$'\t' read -r k v; do printf '%-20s %s\n' "$k" "$v"; done
    function_arn=$(aws "${aws_args[@]}" cloudformation describe-stacks --stack-name "$stack" \
        --query "Stacks[0].Outputs[?OutputKey=='FunctionArn'].OutputValue" --output text)
fi

profile_flag=""
[[ -z "$profile" ]] || profile_flag=" --profile $profile"
cat <<EOF

Next:
  1. Generate a key pair, associate it with the instance and store the private key:
       secure-ivr keygen --instance-id $instance_id --prefix $key_path/ --region $region$profile_flag
  2. Render the contact flow with the key ID and certificate keygen printed, then import it:
       secure-ivr flow --template flows/secure-ivr-card-capture.json --key-id KEY_ID \\
         --certificate KEY_ID.cert.pem --lambda-arn $function_arn --out secure-ivr-flow.json
EOF
[[ -n "$alert_email" ]] && echo "  3. Confirm the alert subscription from the email AWS sent to $alert_email."
exit 0
