#!/usr/bin/env bash
# Registers a new revision of an ECS task definition whose gMSA containers use `credentialSpecs`
# (domainless or domain-joined) instead of the legacy `credentialspec:` entry in `dockerSecurityOptions`.
# Run with --help for usage. Needs the AWS CLI and jq; only calls `aws ecs describe-task-definition` and
# `aws ecs register-task-definition`. The task definition's old revision stays ACTIVE: point the service at the new one.
#
# Why: Linux containers read their CredSpec only from `credentialSpecs`
# (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDefinition.html#ECS-Type-ContainerDefinition-credentialSpecs,
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/linux-gmsa.html).
set -euo pipefail

readonly PROG="${0##*/}"
readonly EXIT_USAGE=2

usage() {
  # Builtins only (no cat): the script needs nothing but bash, aws and jq.
  local line
  while IFS= read -r line; do printf '%s\n' "$line"; done <<EOF
Usage: $PROG <task-definition> (--domainless | --domain-joined) [options]

Migrates an ECS task definition from the legacy gMSA form (a "credentialspec:<ARN>" entry in a container's
dockerSecurityOptions) to the container's credentialSpecs, and registers the result as a new revision.

  <task-definition>        family, family:revision or task definition ARN (latest ACTIVE revision of a family)
  --domainless             credentialSpecs ["credentialspecdomainless:<ARN>"] (Fargate and EC2; the CredSpec holds
                           the HostAccountConfig that names the domainless user's secret)
  --domain-joined          credentialSpecs ["credentialspec:<ARN>"] (EC2 container instances joined to the domain)
  --credspec-arn <ARN>     use this CredSpec (S3 object or SSM parameter ARN) instead of the one found
  --region <region>        AWS Region (default: the AWS CLI's configuration)
  --dry-run                print the new task definition JSON (register-task-definition input), register nothing
  -h, --help               show this help

Output: the new task definition revision ARN (or the JSON with --dry-run) on stdout, progress on stderr.
Containers without gMSA are left unchanged; other dockerSecurityOptions entries and tags are kept.
Exit status: 0 migrated or nothing to migrate, 1 error (AWS CLI or jq missing, AWS call failed, cannot migrate),
2 bad usage.

Examples:
  $PROG my-app --domainless --dry-run
  $PROG arn:aws:ecs:us-east-1:111122223333:task-definition/my-app:7 --domain-joined
  $PROG my-app --domainless --credspec-arn arn:aws:s3:::my-bucket/credspecs/SampleWebApp.json
EOF
}

usage_error() {
  echo "$PROG: error: $1 (see $PROG --help)" >&2
  exit "$EXIT_USAGE"
}

fail() {
  echo "$PROG: error: $1" >&2
  exit 1
}

info() {
  echo "$PROG: $1" >&2
}

# ---- arguments -------------------------------------------------------------------------------------------------
task_definition=""
mode=""
credspec_arn=""
region=""
dry_run=false

set_mode() {
  if [[ -n "$mode" && "$mode" != "$1" ]]; then
    usage_error "--domainless and --domain-joined are mutually exclusive"
  fi
  mode="$1"
}

option_value() {
  # $1 option name, $2 number of remaining arguments, $3 the value (if any)
  if [[ "$2" -lt 2 || -z "$3" || "$3" == -* ]]; then
    usage_error "$1 needs a value"
  fi
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help)
      usage
      exit 0
      ;;
    --domainless) set_mode domainless ;;
    --domain-joined) set_mode domain-joined ;;
    --credspec-arn)
      option_value "$1" "$#" "${2:-}"
      credspec_arn="$2"
      shift
      ;;
    --credspec-arn=*)
      credspec_arn="${1#*=}"
      [[ -n "$credspec_arn" ]] || usage_error "--credspec-arn needs a value"
      ;;
    --region)
      option_value "$1" "$#" "${2:-}"
      region="$2"
      shift
      ;;
    --region=*)
      region="${1#*=}"
      [[ -n "$region" ]] || usage_error "--region needs a value"
      ;;
    --dry-run) dry_run=true ;;
    -*) usage_error "unknown option: $1" ;;
    *)
      if [[ -n "$task_definition" ]]; then
        usage_error "one task definition only (got '$task_definition' and '$1')"
      fi
      task_definition="$1"
      ;;
  esac
  shift
done

[[ -n "$task_definition" ]] || usage_error "missing the task definition (family, family:revision or ARN)"
[[ -n "$mode" ]] || usage_error "choose --domainless or --domain-joined"

# Names: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RegisterTaskDefinition.html#ECS-RegisterTaskDefinition-request-family
family_re='^[A-Za-z0-9_-]{1,255}(:[0-9]+)?$'
task_definition_arn_re='^arn:aws[a-z-]*:ecs:[a-z0-9-]+:[0-9]{12}:task-definition/[A-Za-z0-9_-]{1,255}(:[0-9]+)?$'
if [[ ! "$task_definition" =~ $family_re && ! "$task_definition" =~ $task_definition_arn_re ]]; then
  usage_error "'$task_definition' is not a task definition family, family:revision or task definition ARN"
fi
# A CredSpec lives in an S3 object (arn:<partition>:s3:::<bucket>/<key>) or an SSM parameter.
credspec_arn_re='^arn:aws[a-z-]*:(s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/.+|ssm:[a-z0-9-]+:[0-9]{12}:parameter/.+)$'
if [[ -n "$credspec_arn" && ! "$credspec_arn" =~ $credspec_arn_re ]]; then
  usage_error "--credspec-arn '$credspec_arn' is not an S3 object ARN (arn:aws:s3:::bucket/key) or SSM parameter ARN"
fi
if [[ -n "$region" && ! "$region" =~ ^[a-z]{2}(-[a-z]+)+-[0-9]+$ ]]; then
  usage_error "--region '$region' is not an AWS Region name (e.g. us-east-1)"
fi

# ---- tools -----------------------------------------------------------------------------------------------------
missing=()
command -v aws >/dev/null 2>&1 || missing+=("aws (AWS CLI: https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html)")
command -v jq >/dev/null 2>&1 || missing+=("jq (https://jqlang.github.io/jq/download/)")
if [[ ${#missing[@]} -gt 0 ]]; then
  for tool in "${missing[@]}"; do
    echo "$PROG: error: required command not found: $tool" >&2
  done
  exit 1
fi

aws_args=(--output json)
[[ -z "$region" ]] || aws_args+=(--region "$region")
# AWS CLI v2 would page the output through `less`.
export AWS_PAGER=""

# ---- read ------------------------------------------------------------------------------------------------------
info "reading task definition $task_definition"
if ! described=$(aws ecs describe-task-definition --task-definition "$task_definition" --include TAGS "${aws_args[@]}"); then
  fail "aws ecs describe-task-definition failed for '$task_definition' (message above)"
fi

# ---- transform -------------------------------------------------------------------------------------------------
# Produces {status, message?, source, changes, input}: status "migrate", "no-gmsa", "already" or "error".
# shellcheck disable=SC2016 # $mode and $override are jq variables.
plan_program='
  def target_prefix: if $mode == "domainless" then "credentialspecdomainless:" else "credentialspec:" end;
  def is_legacy: type == "string" and startswith("credentialspec:");
  def spec_arn: ltrimstr("credentialspecdomainless:") | ltrimstr("credentialspec:");
  # Fields describe-task-definition returns that register-task-definition does not accept.
  def read_only: del(.taskDefinitionArn, .revision, .status, .requiresAttributes, .compatibilities,
                     .registeredAt, .registeredBy, .deregisteredAt);

  .taskDefinition as $td
  | (.tags // []) as $tags
  | [ $td.containerDefinitions[]
      | . as $c
      | [ ($c.dockerSecurityOptions // [])[] | select(is_legacy) ] as $legacy
      | ($c.credentialSpecs // []) as $specs
      | ([ ($legacy + $specs)[] | spec_arn ] | unique) as $found
      | select(($found | length) > 0)
      | { name: $c.name, legacy: $legacy, specs: $specs, found: $found,
          arn: (if $override != "" then $override elif ($found | length) == 1 then $found[0] else null end) }
    ] as $gmsa
  | ($td | read_only
      | .containerDefinitions |= map(
          . as $c
          | ($gmsa | map(select(.name == $c.name)) | first) as $g
          | if $g == null or $g.arn == null then .
            else
              (if has("dockerSecurityOptions") then .dockerSecurityOptions |= map(select(is_legacy | not)) else . end)
              | (if (.dockerSecurityOptions // []) == [] then del(.dockerSecurityOptions) else . end)
              | .credentialSpecs = [target_prefix + $g.arn]
            end)
      | if ($tags | length) > 0 then .tags = $tags else . end
    ) as $input
  | ($gmsa | map(select(.arn == null))) as $ambiguous
  | ($gmsa | map(select(.arn != null and (.arn | startswith("arn:") | not)))) as $not_arn
  | (($td.requiresCompatibilities // []) | any(. == "FARGATE")) as $fargate
  | { source: $td.taskDefinitionArn,
      changes: [ $gmsa[] | { name, from: { dockerSecurityOptions: .legacy, credentialSpecs: .specs }, to: [target_prefix + (.arn // "?")] } ],
      input: $input }
  + if ($gmsa | length) == 0 then
      { status: "no-gmsa",
        message: "no container uses gMSA (no credentialspec entry in dockerSecurityOptions, no credentialSpecs)" }
    elif ($ambiguous | length) > 0 then
      { status: "error",
        message: "container \($ambiguous[0].name) names more than one CredSpec (\($ambiguous[0].found | join(", "))): choose one with --credspec-arn" }
    elif ($not_arn | length) > 0 then
      { status: "error",
        message: "container \($not_arn[0].name) uses CredSpec \($not_arn[0].arn | tojson), which is not an S3 or SSM ARN: upload it and pass --credspec-arn" }
    elif $fargate and $mode == "domain-joined" then
      { status: "error",
        message: "the task definition requires FARGATE, which supports domainless gMSA only: use --domainless" }
    elif $fargate and ($gmsa | any(.arn | test("^arn:[^:]+:s3:::") | not)) then
      { status: "error",
        message: "the task definition requires FARGATE, which reads the CredSpec from S3 only: pass an S3 object ARN with --credspec-arn" }
    elif $input.containerDefinitions == ($td | read_only).containerDefinitions then
      { status: "already",
        message: "container(s) \([$gmsa[].name] | join(", ")) already use credentialSpecs [\([$gmsa[].specs[]] | unique | join(", "))]" }
    else
      { status: "migrate" }
    end
'
if ! plan=$(jq -c --arg mode "$mode" --arg override "$credspec_arn" "$plan_program" <<<"$described"); then
  fail "could not read the describe-task-definition output as a task definition"
fi

IFS=$'\t' read -r status source_arn message < <(jq -r '[.status, .source, .message // ""] | @tsv' <<<"$plan")
case "$status" in
  no-gmsa | already)
    echo "Nothing to migrate in $source_arn: $message."
    exit 0
    ;;
  error) fail "cannot migrate $source_arn: $message" ;;
esac

while IFS= read -r change; do
  info "$change"
done < <(jq -r '.changes[]
  | "container \(.name): "
    + ([ (.from.dockerSecurityOptions | select(length > 0) | "dockerSecurityOptions [\(join(", "))]"),
         (.from.credentialSpecs | select(length > 0) | "credentialSpecs [\(join(", "))]") ] | join(" + "))
    + " -> credentialSpecs [\(.to | join(", "))]"' <<<"$plan")

register_input=$(jq -c '.input' <<<"$plan")
if [[ "$dry_run" == true ]]; then
  info "dry run: the register-task-definition input follows; nothing registered"
  jq '.' <<<"$register_input"
  exit 0
fi

# ---- register --------------------------------------------------------------------------------------------------
# A task definition is at most 64 KiB, well under the 128 KiB limit of one command-line argument.
if ! registered=$(aws ecs register-task-definition --cli-input-json "$register_input" "${aws_args[@]}"); then
  fail "aws ecs register-task-definition failed (message above); nothing was changed"
fi
new_arn=$(jq -r '.taskDefinition.taskDefinitionArn // empty' <<<"$registered")
[[ -n "$new_arn" ]] || fail "register-task-definition answered without a task definition ARN"
info "registered $new_arn (from $source_arn); update your service to use it"
echo "$new_arn"
