#!/usr/bin/env python3
"""The attachment scanner's block of cloudformation/secure-ivr.yaml, checked as data (issue 15).

The template is read with cfn-lint's own decoder (pinned in tests/requirements.txt), so the short
forms (!Ref, !If, ...) arrive as CloudFormation's long forms. Each check is a function of the
template; each is also run on a mutated copy that breaks exactly what it guards, and must fail
there (a check that cannot fail proves nothing). Prints one line per check and
"N passed, N failed" last; exits 1 on a failure.

What this cannot show: that CloudFormation, IAM or Connect accept the resources (cfn-lint and
checkov in scripts/check-templates.sh, and moto in tests/deploy/deploy-moto.sh, cover what they
can), and that the scanner reads the variables the template sets (that needs the scanner crate's
configuration, which is its own test).
"""

import copy
import json
import sys
from pathlib import Path

from cfnlint.decode import decode

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "cloudformation/secure-ivr.yaml"
BUCKET_PREFIX = "arn:${AWS::Partition}:s3:::${AttachmentsBucket}/${AttachmentsKeyPrefix}*"


class Bad(Exception):
    pass


def need(cond, msg):
    if not cond:
        raise Bad(msg)


def res(t, name):
    r = t["Resources"].get(name)
    need(r is not None, f"no resource {name}")
    return r


def refs(node):
    """Every Ref, GetAtt target and Condition name inside node."""
    out = set()
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "Ref" and isinstance(v, str):
                out.add(v)
            elif k == "Fn::GetAtt":
                out.add(v[0] if isinstance(v, list) else str(v).split(".")[0])
            elif k == "Condition" and isinstance(v, str):
                out.add(v)
            elif k == "Fn::If":
                out.add(v[0])
            out |= refs(v)
    elif isinstance(node, list):
        for v in node:
            out |= refs(v)
    return out


def scanner_condition(t, name, seen=()):
    """name is AttachmentScanning, or a condition that requires it (an Fn::And naming it)."""
    if name == "AttachmentScanning":
        return True
    expr = t["Conditions"].get(name)
    if expr is None or name in seen:
        return False
    return "Fn::And" in expr and any(
        isinstance(c, dict) and "Condition" in c and scanner_condition(t, c["Condition"], (*seen, name)) for c in expr["Fn::And"])


def resolve(node, conditions):
    """node with every Fn::If decided by `conditions` (name -> bool) and AWS::NoValue dropped."""
    if isinstance(node, dict):
        if "Fn::If" in node:
            name, yes, no = node["Fn::If"]
            return resolve(yes if conditions[name] else no, conditions)
        out = {k: resolve(v, conditions) for k, v in node.items()}
        return {k: v for k, v in out.items() if v != {"Ref": "AWS::NoValue"}}
    if isinstance(node, list):
        return [resolve(v, conditions) for v in node if resolve(v, conditions) != {"Ref": "AWS::NoValue"}]
    return node


def statements(t, conditions):
    role = resolve(res(t, "ScannerRole"), conditions)
    for policy in role["Properties"]["Policies"]:
        for s in policy["PolicyDocument"]["Statement"]:
            yield s


def as_list(v):
    return v if isinstance(v, list) else [v]


# ---------------------------------------------------------------- the checks
def off_by_default(t):
    p = t["Parameters"]["AttachmentScanning"]
    need(p.get("Default") == "false" and sorted(p.get("AllowedValues", [])) == ["false", "true"],
         f"AttachmentScanning: Default {p.get('Default')!r}, AllowedValues {p.get('AllowedValues')}")
    need(t["Conditions"].get("AttachmentScanning") == {"Fn::Equals": [{"Ref": "AttachmentScanning"}, "true"]},
         "condition AttachmentScanning is not AttachmentScanning == true")


def every_scanner_resource_behind_the_condition(t):
    names = [n for n in t["Resources"] if n.startswith("Scanner")]
    need(len(names) >= 8, f"only {names}")
    for n in names:
        c = t["Resources"][n].get("Condition")
        need(c and scanner_condition(t, c), f"{n} has Condition {c!r}, not AttachmentScanning or one requiring it")
    for n, r in t.get("Outputs", {}).items():
        if n.startswith("Scanner"):
            need(scanner_condition(t, r.get("Condition", "")), f"output {n} is not behind AttachmentScanning")


def decrypting_function_untouched(t):
    for n, r in t["Resources"].items():
        if n.startswith("Scanner"):
            continue
        hits = {x for x in refs(r) if x.startswith("Scanner") or x.startswith("Attachment")}
        need(not hits, f"{n} names the scanner's {sorted(hits)}")


def function_shape(t):
    p = res(t, "ScannerFunction")["Properties"]
    need(p.get("Runtime") == "provided.al2023" and p.get("Architectures") == ["arm64"] and p.get("Handler") == "bootstrap",
         f"Runtime {p.get('Runtime')}, Architectures {p.get('Architectures')}, Handler {p.get('Handler')}")
    code = json.dumps(p.get("Code"))
    need('"Ref": "CodeS3Bucket"' in code and '"Ref": "ScannerCodeS3Key"' in code, f"Code {code}")
    need(p.get("Role") == {"Fn::GetAtt": ["ScannerRole", "Arn"]}, f"Role {p.get('Role')}")
    need(p.get("LoggingConfig", {}).get("LogGroup") == {"Ref": "ScannerLogGroup"}, "LoggingConfig.LogGroup")
    timeout = t["Parameters"]["ScannerTimeout"]
    need(p.get("Timeout") == {"Ref": "ScannerTimeout"} and int(timeout["MaxValue"]) <= 20,
         "Timeout must be ScannerTimeout, at most 20 s (Connect: 3 retries within 60 s)")


def environment_from_parameters(t):
    env = res(t, "ScannerFunction")["Properties"]["Environment"]["Variables"]
    want = {"SECURE_IVR_SCAN_BUCKET": "AttachmentsBucket", "SECURE_IVR_SCAN_KEY_PREFIX": "AttachmentsKeyPrefix",
            "SECURE_IVR_SCAN_GUARDDUTY": "ScannerGuardDuty"}
    for var, param in want.items():
        need(env.get(var) == {"Ref": param}, f"{var} = {env.get(var)}, want Ref {param}")
    need(t["Parameters"]["AttachmentsKeyPrefix"].get("Default") == "connect/", "AttachmentsKeyPrefix default is not connect/")
    need(t["Parameters"]["ScannerGuardDuty"].get("Default") == "false", "ScannerGuardDuty is not off by default")


def role_reads_exactly_the_prefix(t):
    for guard in (False, True):
        for kms in (False, True):
            conds = {c: False for c in t["Conditions"]}
            conds.update({"AttachmentScanning": True, "ScannerGuardDuty": guard, "ScannerHasKmsKey": kms, "UseVpc": False})
            allowed = {}
            for s in statements(t, conds):
                if s["Effect"] != "Allow":
                    continue
                for a in as_list(s["Action"]):
                    allowed.setdefault(a, []).extend(as_list(s["Resource"]))
            s3 = {a: r for a, r in allowed.items() if a.startswith("s3:")}
            want = {"s3:GetObject"} | ({"s3:GetObjectTagging"} if guard else set())
            need(set(s3) == want, f"GuardDuty={guard}: S3 actions {sorted(s3)}, want {sorted(want)}")
            for a, r in s3.items():
                need(r == [{"Fn::Sub": BUCKET_PREFIX}], f"{a} on {r}, want exactly the bucket's prefix")
            need(allowed.get("rekognition:DetectModerationLabels") == ["*"], "rekognition:DetectModerationLabels on *")
            need(("kms:Decrypt" in allowed) == kms, f"kms:Decrypt granted={('kms:Decrypt' in allowed)} with AttachmentsKmsKeyArn={kms}")
            wild = [a for a, r in allowed.items() if "*" in r and a != "rekognition:DetectModerationLabels"]
            need(not wild, f"actions on *: {wild}")
            extra = set(allowed) - want - {"rekognition:DetectModerationLabels", "kms:Decrypt", "logs:CreateLogStream", "logs:PutLogEvents"}
            need(not extra, f"unexpected actions {sorted(extra)}")


def connect_integration(t):
    i = res(t, "ScannerIntegration")
    need(i["Type"] == "AWS::Connect::IntegrationAssociation", i["Type"])
    p = i["Properties"]
    need(p == {"InstanceId": {"Ref": "ConnectInstanceArn"}, "IntegrationType": "FILE_SCANNER",
               "IntegrationArn": {"Fn::GetAtt": ["ScannerFunction", "Arn"]}}, f"properties {p}")
    need("ScannerConnectInvokePermission" in as_list(i.get("DependsOn", [])), "not after the invoke permission")
    perm = res(t, "ScannerConnectInvokePermission")["Properties"]
    need(perm == {"FunctionName": {"Fn::GetAtt": ["ScannerFunction", "Arn"]}, "Action": "lambda:InvokeFunction",
                  "Principal": "connect.amazonaws.com", "SourceArn": {"Ref": "ConnectInstanceArn"},
                  "SourceAccount": {"Ref": "AWS::AccountId"}}, f"permission {perm}")


def log_group_and_alarms(t):
    g = res(t, "ScannerLogGroup")["Properties"]
    need(g.get("LogGroupName") == {"Fn::Sub": "/aws/lambda/${ScannerFunctionName}"}, f"LogGroupName {g.get('LogGroupName')}")
    need(g.get("RetentionInDays") == {"Ref": "LogRetentionDays"} and "KmsKeyId" in g, "retention and KMS key")
    alarms = {n: r["Properties"] for n, r in t["Resources"].items() if n.startswith("Scanner") and r["Type"] == "AWS::CloudWatch::Alarm"}
    errors = [a for a in alarms.values() if a.get("MetricName") == "Errors" and a.get("Namespace") == "AWS/Lambda"
              and a.get("Dimensions") == [{"Name": "FunctionName", "Value": {"Ref": "ScannerFunction"}}]]
    need(errors, f"no Errors alarm on the scanner among {sorted(alarms)}")


def rule_needs_code_and_bucket(t):
    rule = t.get("Rules", {}).get("AttachmentScanningNeedsCodeAndBucket")
    need(rule is not None, "no Rules.AttachmentScanningNeedsCodeAndBucket")
    need(rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "AttachmentScanning"}, "true"]}, "rule condition")
    asserted = json.dumps(rule["Assertions"])
    need('"Ref": "ScannerCodeS3Key"' in asserted and '"Ref": "AttachmentsBucket"' in asserted, asserted)


# ---------------------------------------------------------------- mutations each check must catch
def m_default_on(t):
    t["Parameters"]["AttachmentScanning"]["Default"] = "true"


def m_unconditional(t):
    del t["Resources"]["ScannerRole"]["Condition"]


def m_decrypt_names_scanner(t):
    t["Resources"]["FunctionErrorsAlarm"]["Properties"]["Dimensions"][0]["Value"] = {"Ref": "ScannerFunction"}


def m_x86(t):
    t["Resources"]["ScannerFunction"]["Properties"]["Architectures"] = ["x86_64"]


def m_env(t):
    t["Resources"]["ScannerFunction"]["Properties"]["Environment"]["Variables"]["SECURE_IVR_SCAN_BUCKET"] = {"Ref": "CodeS3Bucket"}


def m_wide_s3(t):
    for p in t["Resources"]["ScannerRole"]["Properties"]["Policies"]:
        for s in p["PolicyDocument"]["Statement"]:
            if isinstance(s, dict) and s.get("Sid") == "ReadAttachmentsUnderThePrefix":
                s["Resource"] = {"Fn::Sub": "arn:${AWS::Partition}:s3:::${AttachmentsBucket}/*"}


def m_tagging_always(t):
    for p in t["Resources"]["ScannerRole"]["Properties"]["Policies"]:
        for s in p["PolicyDocument"]["Statement"]:
            if isinstance(s, dict) and s.get("Sid") == "ReadAttachmentsUnderThePrefix":
                s["Action"] = ["s3:GetObject", "s3:GetObjectTagging"]


def m_integration_type(t):
    t["Resources"]["ScannerIntegration"]["Properties"]["IntegrationType"] = "LAMBDA_FUNCTION"


def m_alarm_gone(t):
    del t["Resources"]["ScannerErrorsAlarm"]


def m_rule_gone(t):
    t["Rules"].pop("AttachmentScanningNeedsCodeAndBucket")


CHECKS = [
    ("AttachmentScanning is off by default", off_by_default, m_default_on),
    ("every Scanner* resource and output is behind AttachmentScanning", every_scanner_resource_behind_the_condition, m_unconditional),
    ("no resource of the decrypting function names the scanner", decrypting_function_untouched, m_decrypt_names_scanner),
    ("function: provided.al2023, arm64, its own zip, its role and log group, timeout <= 20 s", function_shape, m_x86),
    ("environment: bucket, prefix (default connect/), GuardDuty (default off) from their parameters", environment_from_parameters, m_env),
    ("role: s3:GetObject on exactly the bucket's prefix; GetObjectTagging only with GuardDuty; kms:Decrypt only with a key; nothing else on *",
     role_reads_exactly_the_prefix, m_wide_s3),
    ("role: GetObjectTagging absent without GuardDuty (mutation: granted always)", role_reads_exactly_the_prefix, m_tagging_always),
    ("FILE_SCANNER IntegrationAssociation on the function ARN, after connect.amazonaws.com's permission for the instance",
     connect_integration, m_integration_type),
    ("log group /aws/lambda/ScannerFunctionName with retention and KMS; an Errors alarm on the scanner", log_group_and_alarms, m_alarm_gone),
    ("a Rule refuses AttachmentScanning=true without ScannerCodeS3Key or AttachmentsBucket", rule_needs_code_and_bucket, m_rule_gone),
]


def main():
    template, errors = decode(str(TEMPLATE))
    if template is None or errors:
        print(f"FAIL decode {TEMPLATE}: {errors}")
        print("0 passed, 1 failed")
        return 1
    template = json.loads(json.dumps(template))
    passed = failed = 0
    for name, check, mutate in CHECKS:
        try:
            check(copy.deepcopy(template))
            ok, why = True, ""
        except (Bad, KeyError, TypeError, ValueError) as e:
            ok, why = False, f"{type(e).__name__}: {e}"
        print(f"{'ok  ' if ok else 'FAIL'} {name}{'' if ok else ': ' + why}")
        passed, failed = passed + ok, failed + (not ok)
        broken = copy.deepcopy(template)
        mutate(broken)
        try:
            check(broken)
            caught = False
        except (Bad, KeyError, TypeError, ValueError):
            caught = True
        print(f"{'ok  ' if caught else 'FAIL'} the check fails on a template with {mutate.__name__[2:].replace('_', ' ')}")
        passed, failed = passed + caught, failed + (not caught)
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
