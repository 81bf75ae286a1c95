#!/usr/bin/env bash
# Deploy Secure IVR to an AWS account with the AWS CLI: upload the arm64 zips (the decrypting
# function, and the attachment scanner's when there is one) to S3 under content-addressed keys,
# create a CloudFormation change set for cloudformation/secure-ivr.yaml, execute it, wait, and
# print the stack outputs and the commands that come next.
#
#   scripts/deploy.sh --bucket BUCKET --instance-arn ARN [options]
#
# Required:
#   --bucket NAME          S3 bucket for the function zip, owned by this account (every S3
#                          call sends --expected-bucket-owner, so S3 refuses another's bucket)
#   --instance-arn ARN     Amazon Connect instance ARN (same account and Region)
# Options:
#   --stack-name NAME      CloudFormation stack (default: secure-ivr)
#   --region REGION        AWS Region (default: the instance ARN's Region, which it must be)
#   --profile NAME         AWS CLI profile
#   --zip PATH             function zip (default: cargo's target directory
#                          /lambda/bootstrap/bootstrap.zip, as scripts/build-lambda.sh makes it)
#   --scanner-zip PATH     the attachment scanner's zip (default, when --zip is not given either:
#                          cargo's target directory /lambda/attachment-scanner/bootstrap.zip, if
#                          built). Uploaded beside the other and passed as ScannerCodeS3Key; the
#                          scanner runs only with --param AttachmentScanning=true, which needs it
#   --build                run scripts/build-lambda.sh first (builds both zips)
#   --s3-prefix PREFIX     key prefix in the bucket (default: secure-ivr)
#   --key-path PATH        SSM path of the private keys (default: /connect/secure-ivr/keys)
#   --alert-email EMAIL    subscribe EMAIL to key access alerts and alarms
#   --param KEY=VALUE      any other template parameter (repeatable), e.g. --param WarmKeyCache=true
#   --template PATH        another template (default: cloudformation/secure-ivr.yaml)
#   --no-execute           stop after creating the change set (review it, then execute it)
#   -h, --help             this help
#
# On an update, template parameters not given keep their previous values. Each step that fails
# says which step it was (credentials, bucket, upload, change set, execute, wait) and what to run.
# Needs: bash 3.2 or later, the AWS CLI (v1 or v2), and cargo only when --zip is not given.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
template="$repo/cloudformation/secure-ivr.yaml"
# shellcheck source=lib/portable.sh
source "$repo/scripts/lib/portable.sh"

log() { printf 'deploy: %s\n' "$*" >&2; }
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }
die() { log "ERROR: $*"; exit 1; }

bucket="" instance_arn="" stack="secure-ivr" region="" profile="" zip="" scanner_zip=""
build=0 s3_prefix="secure-ivr" key_path="/connect/secure-ivr/keys" alert_email="" execute=1
# Newline-separated KEY=VALUE lines: a plain string, so an empty list needs no "${arr[@]}"
# (which bash 3.2 calls unbound under set -u).
extra_params=""

need_value() { [[ $# -ge 2 && -n "$2" && "$2" != --* ]] || { log "$1 needs a value"; usage >&2; exit 2; }; }
while [[ $# -gt 0 ]]; do
    case "$1" in
        --bucket) need_value "$@"; bucket="$2"; shift 2 ;;
        --instance-arn) need_value "$@"; instance_arn="$2"; shift 2 ;;
        --stack-name) need_value "$@"; stack="$2"; shift 2 ;;
        --region) need_value "$@"; region="$2"; shift 2 ;;
        --profile) need_value "$@"; profile="$2"; shift 2 ;;
        --zip) need_value "$@"; zip="$2"; shift 2 ;;
        --scanner-zip) need_value "$@"; scanner_zip="$2"; shift 2 ;;
        --build) build=1; shift ;;
        --s3-prefix) need_value "$@"; s3_prefix="${2%/}"; shift 2 ;;
        --key-path) need_value "$@"; key_path="${2%/}"; shift 2 ;;
        --alert-email) need_value "$@"; alert_email="$2"; shift 2 ;;
        --param)
            need_value "$@"
            [[ "$2" == [A-Za-z]*=* && "$2" != *$'\n'* ]] || { log "--param wants KEY=VALUE, got '$2'"; exit 2; }
            extra_params="$extra_params$2"$'\n'
            shift 2
            ;;
        --template) need_value "$@"; template="$2"; shift 2 ;;
        --no-execute) execute=0; shift ;;
        --dry-run) log "--dry-run is gone: it printed commands that were never tried. Use --no-execute to create and review the change set without applying it."; exit 2 ;;
        -h | --help) usage; exit 0 ;;
        *) log "unknown argument: $1"; usage >&2; exit 2 ;;
    esac
done

# ---------------------------------------------------------------- arguments, before any AWS call
missing=""
[[ -n "$bucket" ]] || missing="$missing --bucket"
[[ -n "$instance_arn" ]] || missing="$missing --instance-arn"
if [[ -n "$missing" ]]; then
    log "missing required$missing"
    usage >&2
    exit 2
fi
arn_re='^arn:aws[a-z-]*:connect:([a-z0-9-]+):([0-9]{12}):instance/([0-9a-f-]{36})$'
[[ "$instance_arn" =~ $arn_re ]] ||
    die "--instance-arn '$instance_arn' is not an Amazon Connect instance ARN (arn:aws:connect:REGION:ACCOUNT:instance/ID; the Connect console shows it under the instance's overview)"
arn_region="${BASH_REMATCH[1]}" arn_account="${BASH_REMATCH[2]}" instance_id="${BASH_REMATCH[3]}"
[[ -n "$region" ]] || region="$arn_region"
[[ "$region" == "$arn_region" ]] ||
    die "the instance is in $arn_region but --region is $region: Connect only invokes functions in its own Region"
bucket_re='^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$'
[[ "$bucket" =~ $bucket_re ]] ||
    die "--bucket '$bucket' is not an S3 bucket name (3-63 characters: lowercase letters, digits, '.', '-')"
stack_re='^[A-Za-z][A-Za-z0-9-]{0,127}$'
[[ "$stack" =~ $stack_re ]] || die "--stack-name '$stack' is not a CloudFormation stack name (a letter, then letters, digits, '-')"
[[ -f "$template" ]] || die "no template at $template"

if [[ $build -eq 1 ]]; then
    log "building the arm64 zip (scripts/build-lambda.sh)"
    bash "$repo/scripts/build-lambda.sh" >&2 || die "scripts/build-lambda.sh failed (its output is above)"
fi
if [[ -z "$zip" ]]; then
    # shellcheck source=lib/cargo.sh
    source "$repo/scripts/lib/cargo.sh"
    target_dir="$(cd "$repo" && cargo_target_dir)" || die "could not find cargo's target directory: pass --zip PATH"
    zip="$target_dir/lambda/bootstrap/bootstrap.zip"
    # Both zips from the same build: the scanner's is taken from there only when --zip is not given.
    if [[ -z "$scanner_zip" && -f "$target_dir/lambda/attachment-scanner/bootstrap.zip" ]]; then
        scanner_zip="$target_dir/lambda/attachment-scanner/bootstrap.zip"
    fi
fi
[[ -f "$zip" && -s "$zip" ]] || die "no zip at $zip: run scripts/build-lambda.sh (or pass --build, or --zip PATH)"
[[ "$(head -c 2 "$zip")" == PK ]] || die "$zip is not a zip file (build it with scripts/build-lambda.sh)"
if [[ -n "$scanner_zip" ]]; then
    [[ -f "$scanner_zip" && -s "$scanner_zip" ]] ||
        die "no attachment scanner zip at $scanner_zip: run scripts/build-lambda.sh (it builds both), or fix --scanner-zip"
    [[ "$(head -c 2 "$scanner_zip")" == PK ]] || die "$scanner_zip is not a zip file (build it with scripts/build-lambda.sh)"
fi
# The scanner cannot run without its code; say so before any AWS call (the template's rule would
# refuse the change set later, after the uploads).
if [[ -z "$scanner_zip" && $'\n'"$extra_params" == *$'\n'AttachmentScanning=true$'\n'* ]]; then
    die "AttachmentScanning=true needs the attachment scanner's zip: run scripts/build-lambda.sh (it builds both), or pass --scanner-zip PATH"
fi

command -v aws >/dev/null 2>&1 ||
    die "the AWS CLI (aws) is not on PATH: install it (https://docs.aws.amazon.com/cli/), then run this again"

work="$(mktemp -d "${TMPDIR:-/tmp}/secure-ivr-deploy.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# aws [args...]: the AWS CLI with --region/--profile; its stderr is kept in $work/err for the
# error message (and also shown when DEPLOY_VERBOSE=1).
aws_() {
    local rc=0
    if [[ -n "$profile" ]]; then
        aws --region "$region" --profile "$profile" "$@" 2>"$work/err" || rc=$?
    else
        aws --region "$region" "$@" 2>"$work/err" || rc=$?
    fi
    [[ "${DEPLOY_VERBOSE:-0}" != 1 ]] || cat "$work/err" >&2
    return "$rc"
}
aws_error() { tr -s '\n' ' ' <"$work/err" | sed -e 's/^ *//' -e 's/ *$//'; }

profile_flag=""
[[ -z "$profile" ]] || profile_flag=" --profile $profile"

# ---------------------------------------------------------------- 1. credentials
log "AWS CLI: $(aws --version 2>&1 | head -1)"
account="$(aws_ sts get-caller-identity --query Account --output text)" ||
    die "step credentials: no usable AWS credentials ($(aws_error)). Configure them (aws configure, or aws sso login$profile_flag), or pass --profile NAME"
[[ "$account" == "$arn_account" ]] ||
    die "step credentials: the credentials are for account $account but the instance is in $arn_account: use credentials (--profile) of the instance's account"
log "account $account, Region $region"

# ---------------------------------------------------------------- 2. bucket
if ! bucket_region="$(aws_ s3api head-bucket --bucket "$bucket" --expected-bucket-owner "$account" --query BucketRegion --output text)"; then
    err="$(aws_error)"
    case "$err" in
        *"(404)"* | *NoSuchBucket* | *"Not Found"*)
            die "step bucket: bucket $bucket does not exist. Create it in this account: aws s3api create-bucket --bucket $bucket --region $region$( [[ "$region" == us-east-1 ]] || printf ' --create-bucket-configuration LocationConstraint=%s' "$region")$profile_flag" ;;
        *"(403)"* | *Forbidden* | *AccessDenied*)
            die "step bucket: S3 refused bucket $bucket for account $account (403): it is owned by another account, or these credentials may not s3:ListBucket it. Use a bucket account $account owns" ;;
        *"(301)"* | *"Moved Permanently"* | *PermanentRedirect*)
            die "step bucket: bucket $bucket is in another Region than $region: use a bucket in $region" ;;
        *)
            die "step bucket: could not check bucket $bucket: $err" ;;
    esac
fi

# Lambda reads its code from a bucket in its own Region only (the CLI follows S3's redirect, so a
# bucket elsewhere would fail only later, inside CloudFormation).
if [[ -n "$bucket_region" && "$bucket_region" != None && "$bucket_region" != "$region" ]]; then
    die "step bucket: bucket $bucket is in $bucket_region, the stack in $region: Lambda takes its code only from a bucket in its own Region. Use a bucket in $region"
fi

# ---------------------------------------------------------------- 3. upload
digest="$(sha256_hex "$zip")" || die "could not hash $zip"
# A key that changes with the content makes CloudFormation update the code, and never replaces
# an artifact a running stack points to.
key="$s3_prefix/bootstrap-$(printf '%s' "$digest" | cut -c1-16).zip"
log "uploading ${zip#"$repo"/} ($(file_size "$zip") bytes) to s3://$bucket/$key"
aws_ s3api put-object --bucket "$bucket" --key "$key" --body "$zip" --expected-bucket-owner "$account" \
    --content-type application/zip --metadata "sha256=$digest" >/dev/null ||
    die "step upload: put-object to s3://$bucket/$key failed: $(aws_error)"
scanner_key=""
if [[ -n "$scanner_zip" ]]; then
    scanner_digest="$(sha256_hex "$scanner_zip")" || die "could not hash $scanner_zip"
    scanner_key="$s3_prefix/attachment-scanner-$(printf '%s' "$scanner_digest" | cut -c1-16).zip"
    log "uploading ${scanner_zip#"$repo"/} ($(file_size "$scanner_zip") bytes) to s3://$bucket/$scanner_key"
    aws_ s3api put-object --bucket "$bucket" --key "$scanner_key" --body "$scanner_zip" --expected-bucket-owner "$account" \
        --content-type application/zip --metadata "sha256=$scanner_digest" >/dev/null ||
        die "step upload: put-object to s3://$bucket/$scanner_key failed: $(aws_error)"
fi

# ---------------------------------------------------------------- 4. change set
# CloudFormation takes at most 51,200 bytes inline; a larger template goes to the bucket too
# (content-addressed beside the zip) and is passed by URL.
template_bytes="$(file_size "$template")"
if [[ "$template_bytes" -gt 51200 ]]; then
    template_key="$s3_prefix/template-$(sha256_hex "$template" | cut -c1-16).yaml"
    log "the template is $template_bytes bytes (over the 51,200 CloudFormation takes inline): uploading it to s3://$bucket/$template_key"
    aws_ s3api put-object --bucket "$bucket" --key "$template_key" --body "$template" --expected-bucket-owner "$account" \
        --content-type text/yaml >/dev/null ||
        die "step upload: put-object of the template to s3://$bucket/$template_key failed: $(aws_error)"
    template_flag=--template-url template_value="https://s3.$region.amazonaws.com/$bucket/$template_key"
else
    template_flag=--template-body template_value="file://$template"
fi
# The template's own parameter names and required capabilities, from CloudFormation itself
# (GetTemplateSummary; it also validates the template).
# shellcheck disable=SC2016 # backquotes are JMESPath literals
aws_ cloudformation get-template-summary "$template_flag" "$template_value" \
    --query '[join(`,`, Parameters[].ParameterKey || `[]`), join(`,`, Capabilities || `[]`)]' --output text >"$work/validate" ||
    die "step change set: CloudFormation rejected the template: $(aws_error)"
[[ -s "$work/validate" ]] || die "step change set: CloudFormation returned no summary of the template"
IFS=$'\t' read -r template_params capabilities <"$work/validate" || true
[[ "$capabilities" != None ]] || capabilities=""

status=""
if status="$(aws_ cloudformation describe-stacks --stack-name "$stack" --query 'Stacks[0].StackStatus' --output text)"; then
    :
elif grep -q 'does not exist' "$work/err"; then
    status=""
else
    die "step change set: could not read stack $stack: $(aws_error)"
fi
case "$status" in
    "" | REVIEW_IN_PROGRESS) change_type=CREATE ;;
    ROLLBACK_COMPLETE)
        die "step change set: stack $stack is ROLLBACK_COMPLETE (its first creation failed and it cannot be updated). See why: aws cloudformation describe-stack-events --stack-name $stack --region $region$profile_flag; then delete it: aws cloudformation delete-stack --stack-name $stack --region $region$profile_flag, and deploy again" ;;
    *_IN_PROGRESS)
        die "step change set: stack $stack is busy ($status): wait until it settles (aws cloudformation wait stack-update-complete --stack-name $stack), then run this again" ;;
    *) change_type=UPDATE ;;
esac

# Parameters as JSON (a value may hold commas, e.g. SubnetIds).
json_str() { local s="$1"; s="${s//\\/\\\\}"; s="${s//\"/\\\"}"; s="${s//$'\t'/\\t}"; printf '"%s"' "$s"; }
given=""
params_json=""
add_param() {
    params_json="$params_json${params_json:+,}{\"ParameterKey\":$(json_str "$1"),\"ParameterValue\":$(json_str "$2")}"
    given="$given,$1,"
}
add_param ConnectInstanceArn "$instance_arn"
add_param CodeS3Bucket "$bucket"
add_param CodeS3Key "$key"
add_param KeyPath "$key_path"
# Without a scanner zip the parameter is not given: a new stack takes its default (""), an update
# keeps the code it runs (UsePreviousValue, below).
if [[ -n "$scanner_key" ]]; then
    [[ ",$template_params," == *",ScannerCodeS3Key,"* ]] ||
        die "step change set: the template has no ScannerCodeS3Key parameter for the scanner's zip (uploaded to s3://$bucket/$scanner_key); use cloudformation/secure-ivr.yaml"
    add_param ScannerCodeS3Key "$scanner_key"
fi
[[ -z "$alert_email" ]] || add_param AlertEmail "$alert_email"
while IFS= read -r kv; do
    [[ -n "$kv" ]] || continue
    name="${kv%%=*}"
    [[ ",$template_params," == *",$name,"* ]] ||
        die "--param $name: the template has no such parameter (it has: ${template_params//,/, })"
    add_param "$name" "${kv#*=}"
done <<EOF
$extra_params
EOF
if [[ $change_type == UPDATE ]]; then
    # As `aws cloudformation deploy` does: what was set before and is not given now stays.
    # shellcheck disable=SC2016 # backquotes are JMESPath literals
    aws_ cloudformation describe-stacks --stack-name "$stack" --query 'join(`,`, Stacks[0].Parameters[].ParameterKey)' \
        --output text >"$work/previous" || die "step change set: could not read the parameters of stack $stack: $(aws_error)"
    tr ',' '\n' <"$work/previous" >"$work/previous.lines"
    while IFS= read -r name; do
        [[ -n "$name" && "$given" != *",$name,"* && ",$template_params," == *",$name,"* ]] || continue
        params_json="$params_json,{\"ParameterKey\":$(json_str "$name"),\"UsePreviousValue\":true}"
    done <"$work/previous.lines"
fi

change_set="deploy-$(date -u +%Y%m%d%H%M%S)-$(printf '%s' "$digest" | cut -c1-8)"
log "creating change set $change_set ($change_type stack $stack in $region)"
set -- --stack-name "$stack" --change-set-name "$change_set" --change-set-type "$change_type" \
    "$template_flag" "$template_value" --parameters "[$params_json]" \
    --tags Key=application,Value=secure-ivr \
    --description "scripts/deploy.sh: s3://$bucket/$key"
# The function's role needs CAPABILITY_IAM; any other capability the template asks for is added.
set -- "$@" --capabilities CAPABILITY_IAM
tr ',' '\n' <<<"$capabilities" >"$work/capabilities"
while IFS= read -r capability; do
    [[ -z "$capability" || "$capability" == CAPABILITY_IAM ]] || set -- "$@" "$capability"
done <"$work/capabilities"
no_changes() {
    log "no changes: stack $stack already runs s3://$bucket/$key with these parameters"
    execute=2
}
if ! aws_ cloudformation create-change-set "$@" >/dev/null; then
    # AWS creates the change set and fails it (below); some emulators refuse at once.
    case "$(aws_error)" in
        *"No updates are to be performed"* | *"didn't contain changes"*) no_changes ;;
        *) die "step change set: create-change-set failed: $(aws_error)" ;;
    esac
elif ! aws_ cloudformation wait change-set-create-complete --stack-name "$stack" --change-set-name "$change_set"; then
    reason="$(aws_ cloudformation describe-change-set --stack-name "$stack" --change-set-name "$change_set" \
        --query StatusReason --output text 2>/dev/null || true)"
    case "$reason" in
        *"didn't contain changes"* | *"No updates are to be performed"*)
            no_changes
            aws_ cloudformation delete-change-set --stack-name "$stack" --change-set-name "$change_set" || true ;;
        *)
            die "step change set: change set $change_set failed: ${reason:-$(aws_error)}" ;;
    esac
fi
if [[ $execute -ne 2 ]]; then
    log "change set $change_set:"
    aws_ cloudformation describe-change-set --stack-name "$stack" --change-set-name "$change_set" \
        --query 'Changes[].ResourceChange.[Action,LogicalResourceId,ResourceType,Replacement]' --output text |
        while IFS=$'\t' read -r action id type replacement; do
            printf '  %-7s %-28s %s%s\n' "$action" "$id" "$type" "$([[ "$replacement" == True ]] && echo ' (replaced)')" >&2
        done || true
fi

if [[ $execute -eq 0 ]]; then
    log "not executed (--no-execute). Review it in the console, or apply it with:"
    printf '  aws cloudformation execute-change-set --stack-name %s --change-set-name %s --region %s%s\n' \
        "$stack" "$change_set" "$region" "$profile_flag" >&2
    exit 0
fi

# ---------------------------------------------------------------- 5. execute and wait
failed_events() {
    # shellcheck disable=SC2016 # backquotes are JMESPath literals
    aws_ cloudformation describe-stack-events --stack-name "$stack" \
        --query 'StackEvents[?ends_with(ResourceStatus, `FAILED`)].[LogicalResourceId,ResourceStatus,ResourceStatusReason]' \
        --output text 2>/dev/null | head -n 10 | sed 's/^/  /' >&2 || true
}
if [[ $execute -eq 1 ]]; then
    log "executing change set $change_set"
    aws_ cloudformation execute-change-set --stack-name "$stack" --change-set-name "$change_set" ||
        die "step execute: execute-change-set $change_set failed: $(aws_error). The change set is kept: aws cloudformation describe-change-set --stack-name $stack --change-set-name $change_set --region $region$profile_flag"
    log "waiting for stack $stack (a first creation takes a few minutes)"
    if [[ $change_type == CREATE ]]; then waiter="stack-create-complete"; else waiter="stack-update-complete"; fi
    if ! aws_ cloudformation wait "$waiter" --stack-name "$stack"; then
        final="$(aws_ cloudformation describe-stacks --stack-name "$stack" --query 'Stacks[0].[StackStatus,StackStatusReason]' --output text 2>/dev/null || echo unknown)"
        log "step wait: stack $stack did not reach ${waiter#stack-} ($final); the failed resources:"
        failed_events
        die "step wait: stack $stack failed. All events: aws cloudformation describe-stack-events --stack-name $stack --region $region$profile_flag"
    fi
fi

# ---------------------------------------------------------------- 6. outputs
aws_ cloudformation describe-stacks --stack-name "$stack" \
    --query 'Stacks[0].Outputs[].[OutputKey,OutputValue]' --output text >"$work/outputs" ||
    die "step outputs: could not read the outputs of stack $stack: $(aws_error)"
log "stack $stack: $(aws_ cloudformation describe-stacks --stack-name "$stack" --query 'Stacks[0].StackStatus' --output text || echo '?')"
function_arn="" scanner_arn=""
while IFS=$'\t' read -r k v; do
    [[ -n "$k" && "$k" != None ]] || continue
    printf '%-24s %s\n' "$k" "$v"
    [[ "$k" != FunctionArn ]] || function_arn="$v"
    [[ "$k" != ScannerFunctionArn ]] || scanner_arn="$v"
done <"$work/outputs"
[[ -n "$function_arn" ]] || log "WARNING: stack $stack reports no FunctionArn output (see: aws cloudformation describe-stacks --stack-name $stack)"

cat >&2 <<EOF

Next:
  1. Generate a key pair under the stack's KMS key, associate it with the instance, store the private key:
       secure-ivr keygen --stack $stack --instance-id $instance_id --region $region$profile_flag
  2. Check that the function can read it:
       secure-ivr check --stack $stack --region $region$profile_flag
  3. Render the contact flow with the key ID and certificate keygen printed, then import it:
       secure-ivr flow --template flows/secure-ivr-card-capture.json --key-id KEY_ID \\
         --certificate KEY_ID.cert.pem --lambda-arn ${function_arn:-FUNCTION_ARN} --out secure-ivr-flow.json
EOF
if [[ -n "$alert_email" ]]; then
    echo "  4. Confirm the alert subscription from the email AWS sent to $alert_email." >&2
fi
if [[ -n "$scanner_arn" ]]; then
    echo "  Attachment scanner: $scanner_arn is the instance's FILE_SCANNER; check a file as it would:" >&2
    echo "       secure-ivr scan FILE --rekognition --region $region$profile_flag" >&2
fi
exit 0
