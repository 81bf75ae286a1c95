//! Helpers shared by the CLI tests: run the real binary, find moto, serve wire-level fakes.
#![allow(dead_code, missing_docs)]
#![allow(
    clippy::expect_used,
    reason = "test helpers: a failed expect is a failed test, as clippy.toml allows in #[test] functions"
)]

pub(crate) mod iam;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};

/// The binary under test, with a clean AWS environment (no IMDS, no real profile, no real endpoint).
pub(crate) fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_secure-ivr"));
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") || k == "SECURE_IVR_PREFIX" {
            c.env_remove(k);
        }
    }
    c.env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent/secure-ivr-test-config")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/secure-ivr-test-credentials");
    c
}

/// Same, with static test credentials.
pub(crate) fn bin_with_creds() -> Command {
    let mut c = bin();
    c.env("AWS_ACCESS_KEY_ID", "AKIDTESTTESTTEST").env("AWS_SECRET_ACCESS_KEY", "test-secret");
    c
}

/// Runs with optional stdin.
pub(crate) fn run(mut c: Command, stdin: Option<&[u8]>) -> Output {
    c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().expect("spawn secure-ivr");
    if let Some(mut pipe) = child.stdin.take()
        && let Some(data) = stdin
    {
        pipe.write_all(data).expect("write stdin");
    }
    child.wait_with_output().expect("wait secure-ivr")
}

/// stdout as text.
pub(crate) fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// stderr as text.
pub(crate) fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts an exit code, showing stderr on failure.
#[track_caller]
pub(crate) fn assert_code(o: &Output, code: i32) {
    assert_eq!(o.status.code(), Some(code), "stdout:\n{}\nstderr:\n{}", out(o), err(o));
}

/// The moto endpoint, or None after a counted skip (a failure when services are required).
pub(crate) fn moto(name: &str) -> Option<String> {
    test_support::moto::endpoint(&format!("secure-ivr-cli {name}"))
}

/// A unique prefix so tests sharing one moto server do not see each other's keys.
pub(crate) fn unique_prefix(name: &str) -> String {
    test_support::moto::unique_prefix(name)
}

/// A parsed HTTP request.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Request {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// A response: status, headers, body.
pub(crate) type Response = (u16, Vec<(String, String)>, String);

/// Serves HTTP/1.1 on 127.0.0.1 with `handler`, one connection per thread; returns the base URL.
pub(crate) fn serve<F>(handler: F) -> String
where
    F: Fn(&Request) -> Response + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind fake");
    let addr = listener.local_addr().expect("addr");
    let handler = Arc::new(handler);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let h = Arc::clone(&handler);
            std::thread::spawn(move || connection(stream, &*h));
        }
    });
    format!("http://{addr}")
}

fn connection(stream: TcpStream, handler: &(dyn Fn(&Request) -> Response + Send + Sync)) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut writer = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or("").to_owned();
        let path = parts.next().unwrap_or("").to_owned();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_owned(), v.trim().to_owned()));
            }
        }
        let len = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse::<usize>().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let (status, extra, payload) = handler(&Request { method, path, headers, body });
        let mut resp = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\n", payload.len());
        for (k, v) in extra {
            resp.push_str(&format!("{k}: {v}\r\n"));
        }
        resp.push_str("\r\n");
        resp.push_str(&payload);
        if writer.write_all(resp.as_bytes()).is_err() {
            return;
        }
    }
}

/// One key held by the fake Connect instance.
#[derive(Debug, Clone)]
pub(crate) struct FakeKey {
    pub(crate) association_id: String,
    pub(crate) key: String,
    pub(crate) creation_time: i64,
}

/// A fake Amazon Connect (REST-JSON) for the security-key APIs, with the two-key limit.
pub(crate) fn fake_connect(instance_id: &str) -> (String, Arc<Mutex<Vec<FakeKey>>>) {
    let fake = fake_connect_flows(instance_id, Vec::new(), FakeOptions::default());
    (fake.url, fake.keys)
}

/// A flow or module of the fake instance.
#[derive(Debug, Clone)]
pub(crate) struct FakeFlow {
    pub(crate) id: String,
    pub(crate) name: String,
    /// A module (`ListContactFlowModules`) rather than a flow.
    pub(crate) module: bool,
    /// Flow language JSON, as `Describe*` returns it in `Content`.
    pub(crate) content: String,
    /// Describe* of this one fails with (HTTP status, error type) instead.
    pub(crate) describe_error: Option<(u16, String)>,
}

impl FakeFlow {
    pub(crate) fn flow(id: &str, name: &str, content: &str) -> Self {
        Self { id: id.into(), name: name.into(), module: false, content: content.into(), describe_error: None }
    }

    pub(crate) fn module(id: &str, name: &str, content: &str) -> Self {
        Self { module: true, ..Self::flow(id, name, content) }
    }
}

/// How the fake behaves beyond the API reference's shapes.
#[derive(Debug, Clone, Default)]
pub(crate) struct FakeOptions {
    /// At most this many items per List* page, whatever MaxResults asks (0: no cap beyond
    /// MaxResults): Connect may return fewer than asked, and the client must follow NextToken.
    pub(crate) page_cap: usize,
    /// Every Nth request is refused with HTTP 429 (alternately TooManyRequestsException and
    /// ThrottlingException) before it is served; 0: never.
    pub(crate) throttle_every: usize,
}

/// The fake's handles: its URL, the instance's keys, and every request line it received
/// (`METHOD /path?query`, throttled ones included).
pub(crate) struct FakeConnect {
    pub(crate) url: String,
    pub(crate) keys: Arc<Mutex<Vec<FakeKey>>>,
    pub(crate) flows: Arc<Mutex<Vec<FakeFlow>>>,
    pub(crate) requests: Arc<Mutex<Vec<String>>>,
}

/// The API reference's MaxResults maxima (botocore connect 2017-08-08 service-2.json).
const MAX_RESULTS_FLOWS: usize = 1000;
const MAX_RESULTS_KEYS: usize = 2;

/// A page of `items` from `query`'s nextToken/maxResults, or the error Connect gives for a bad one.
fn page<T: Clone>(
    items: &[T],
    query: &[(String, String)],
    max: usize,
    cap: usize,
) -> Result<(Vec<T>, Option<String>), String> {
    let get = |k: &str| query.iter().find(|(q, _)| q == k).map(|(_, v)| v.as_str());
    let size = match get("maxResults") {
        None => max.min(100),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => n,
            _ => return Err(format!("maxResults must be between 1 and {max}")),
        },
    };
    let size = if cap > 0 { size.min(cap) } else { size };
    let from = match get("nextToken") {
        None => 0,
        Some(t) => match t.strip_prefix("fake-page-").and_then(|n| n.parse::<usize>().ok()) {
            Some(n) if n < items.len() => n,
            _ => return Err("the nextToken is not one this API returned".to_owned()),
        },
    };
    let to = (from + size).min(items.len());
    let next = (to < items.len()).then(|| format!("fake-page-{to}"));
    Ok((items.get(from..to).map(<[T]>::to_vec).unwrap_or_default(), next))
}

/// A fake Amazon Connect (REST-JSON): the security-key APIs with the two-key limit, and the flow
/// APIs `flow-audit` and `--update-flows` use, on the paths, paging parameters, MaxResults limits,
/// response shapes and error shapes of the API reference (botocore's connect model).
pub(crate) fn fake_connect_flows(instance_id: &str, flows: Vec<FakeFlow>, opts: FakeOptions) -> FakeConnect {
    let keys: Arc<Mutex<Vec<FakeKey>>> = Arc::new(Mutex::new(Vec::new()));
    let flows = Arc::new(Mutex::new(flows));
    let requests = Arc::new(Mutex::new(Vec::new()));
    let (state, flow_state, log) = (Arc::clone(&keys), Arc::clone(&flows), Arc::clone(&requests));
    let instance = instance_id.to_owned();
    let counter = Arc::new(Mutex::new(0u32));
    let url = serve(move |req| {
        let json = vec![("Content-Type".to_owned(), "application/json".to_owned())];
        let error = |status: u16, kind: &str, msg: &str| -> Response {
            let mut h = json.clone();
            h.push(("x-amzn-ErrorType".to_owned(), kind.to_owned()));
            (status, h, serde_json::json!({ "Message": msg }).to_string())
        };
        let n_request = {
            let mut log = log.lock().expect("lock");
            log.push(format!("{} {}", req.method, req.path));
            log.len()
        };
        if opts.throttle_every > 0 && n_request.is_multiple_of(opts.throttle_every) {
            let kind = if (n_request / opts.throttle_every).is_multiple_of(2) {
                "ThrottlingException"
            } else {
                "TooManyRequestsException"
            };
            return error(429, kind, "Rate exceeded");
        }
        let (path, query) = req.path.split_once('?').unwrap_or((req.path.as_str(), ""));
        let query: Vec<(String, String)> = query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.replace("%2F", "/").replace("%3D", "=")))
            .collect();
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        // Every route names the instance in its second segment.
        if segments.get(1) != Some(&instance.as_str()) {
            return error(404, "ResourceNotFoundException", "instance not found");
        }
        let flow_list = flow_state.lock().expect("lock").clone();
        match (req.method.as_str(), segments.as_slice()) {
            ("PUT", ["instance", _, "security-key"]) => {
                let mut keys = state.lock().expect("lock");
                if keys.len() >= 2 {
                    return error(402, "ServiceQuotaExceededException", "The service quota has been exceeded.");
                }
                let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap_or_default();
                let Some(key) = body.get("Key").and_then(|k| k.as_str()) else {
                    return error(400, "InvalidParameterException", "Key is required");
                };
                let mut n = counter.lock().expect("lock");
                *n += 1;
                let id = format!("{:08x}-0000-4000-8000-{:012x}", *n, *n);
                keys.push(FakeKey {
                    association_id: id.clone(),
                    key: key.to_owned(),
                    creation_time: 1_700_000_000 + i64::from(*n),
                });
                (200, json, serde_json::json!({ "AssociationId": id }).to_string())
            }
            ("GET", ["instance", _, "security-keys"]) => {
                let list: Vec<_> = state
                    .lock()
                    .expect("lock")
                    .iter()
                    .map(|k| serde_json::json!({"AssociationId": k.association_id, "Key": k.key, "CreationTime": k.creation_time}))
                    .collect();
                match page(&list, &query, MAX_RESULTS_KEYS, opts.page_cap) {
                    Ok((items, next)) => {
                        (200, json, serde_json::json!({ "SecurityKeys": items, "NextToken": next }).to_string())
                    }
                    Err(msg) => error(400, "InvalidParameterException", &msg),
                }
            }
            ("DELETE", ["instance", _, "security-key", id]) => {
                let mut keys = state.lock().expect("lock");
                let before = keys.len();
                keys.retain(|k| k.association_id != *id);
                if keys.len() == before {
                    return error(404, "ResourceNotFoundException", "association not found");
                }
                (200, json, String::new())
            }
            ("GET", [list @ ("contact-flows-summary" | "contact-flow-modules-summary"), _]) => {
                let modules = *list == "contact-flow-modules-summary";
                let items: Vec<_> = flow_list
                    .iter()
                    .filter(|f| f.module == modules)
                    .map(|f| {
                        let arn = format!("arn:aws:connect:eu-west-2:111122223333:instance/{instance}/{}/{}", if modules { "flow-module" } else { "contact-flow" }, f.id);
                        if modules {
                            serde_json::json!({"Id": f.id, "Arn": arn, "Name": f.name, "State": "ACTIVE"})
                        } else {
                            serde_json::json!({"Id": f.id, "Arn": arn, "Name": f.name, "ContactFlowType": "CONTACT_FLOW",
                                               "ContactFlowState": "ACTIVE", "ContactFlowStatus": "PUBLISHED"})
                        }
                    })
                    .collect();
                let key = if modules { "ContactFlowModulesSummaryList" } else { "ContactFlowSummaryList" };
                match page(&items, &query, MAX_RESULTS_FLOWS, opts.page_cap) {
                    Ok((items, next)) => (200, json, serde_json::json!({ key: items, "NextToken": next }).to_string()),
                    Err(msg) => error(400, "InvalidParameterException", &msg),
                }
            }
            (method @ ("GET" | "POST"), [kind @ ("contact-flows" | "contact-flow-modules"), _, id, rest @ ..]) => {
                let modules = *kind == "contact-flow-modules";
                let Some(f) = flow_list.iter().find(|f| f.module == modules && f.id == *id) else {
                    return error(404, "ResourceNotFoundException", "flow not found");
                };
                match (method, rest) {
                    ("GET", []) => {
                        if let Some((status, kind)) = &f.describe_error {
                            return error(*status, kind, "refused by the test");
                        }
                        let arn = format!("arn:aws:connect:eu-west-2:111122223333:instance/{instance}/x/{}", f.id);
                        let (key, body) = if modules {
                            (
                                "ContactFlowModule",
                                serde_json::json!({"Arn": arn, "Id": f.id, "Name": f.name, "Content": f.content, "State": "ACTIVE", "Status": "PUBLISHED"}),
                            )
                        } else {
                            (
                                "ContactFlow",
                                serde_json::json!({"Arn": arn, "Id": f.id, "Name": f.name, "Type": "CONTACT_FLOW", "State": "ACTIVE", "Status": "PUBLISHED", "Content": f.content}),
                            )
                        };
                        (200, json, serde_json::json!({ key: body }).to_string())
                    }
                    ("POST", ["content"]) => {
                        let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap_or_default();
                        let Some(content) = body.get("Content").and_then(|c| c.as_str()) else {
                            return error(400, "InvalidParameterException", "Content is required");
                        };
                        let mut all = flow_state.lock().expect("lock");
                        if let Some(f) = all.iter_mut().find(|f| f.module == modules && f.id == *id) {
                            f.content = content.to_owned();
                        }
                        (200, json, String::new())
                    }
                    _ => error(400, "InvalidRequestException", "unexpected request"),
                }
            }
            _ => error(400, "InvalidRequestException", "unexpected request"),
        }
    });
    FakeConnect { url, keys, flows, requests }
}

/// A fake CloudTrail (JSON 1.1) LookupEvents serving `records` (CloudTrail record JSON).
pub(crate) fn fake_cloudtrail(records: Vec<serde_json::Value>) -> String {
    serve(move |req| {
        let target = req.header("x-amz-target").unwrap_or("");
        let json = vec![("Content-Type".to_owned(), "application/x-amz-json-1.1".to_owned())];
        // The SDK sends the short target; the service shape ID is the long one. Accept both.
        if !target.ends_with("CloudTrail_20131101.LookupEvents") {
            return (400, json, r#"{"__type":"UnknownOperationException","message":"unexpected"}"#.to_owned());
        }
        let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap_or_default();
        let attr = &body["LookupAttributes"][0];
        let (key, value) = (attr["AttributeKey"].as_str().unwrap_or(""), attr["AttributeValue"].as_str().unwrap_or(""));
        let events: Vec<_> = records
            .iter()
            .filter(|r| match key {
                "EventSource" => r["eventSource"] == value,
                "EventName" => r["eventName"] == value,
                _ => false,
            })
            .map(|r| {
                serde_json::json!({
                    "EventId": r["eventID"],
                    "EventName": r["eventName"],
                    "ReadOnly": "true",
                    "AccessKeyId": r["userIdentity"]["accessKeyId"],
                    "EventTime": 1_900_000_000,
                    "EventSource": r["eventSource"],
                    "Username": "x",
                    "Resources": [],
                    "CloudTrailEvent": r.to_string(),
                })
            })
            .collect();
        // Two pages, to exercise NextToken.
        let (page, next) = if body.get("NextToken").is_some() {
            (events.get(1..).map(<[_]>::to_vec).unwrap_or_default(), None)
        } else if events.len() > 1 {
            (events.get(..1).map(<[_]>::to_vec).unwrap_or_default(), Some("page-2"))
        } else {
            (events, None)
        };
        let mut resp = serde_json::json!({ "Events": page });
        if let Some(n) = next {
            resp["NextToken"] = serde_json::json!(n);
        }
        (200, json, resp.to_string())
    })
}

/// Sends one JSON-1.1 call to moto's SSM (moto does not check signatures), for assertions.
pub(crate) fn moto_ssm(endpoint: &str, region: &str, action: &str, body: &serde_json::Value) -> serde_json::Value {
    let target = format!("AmazonSSM.{action}");
    let headers = [("X-Amz-Target", target.as_str()), ("Content-Type", "application/x-amz-json-1.1")];
    let (_, body) = moto_call(endpoint, region, "ssm", &headers, "POST", "/", &body.to_string());
    // moto may answer chunked; take the JSON object.
    let start = body.find('{').unwrap_or(0);
    let end = body.rfind('}').map(|e| e + 1).unwrap_or(body.len());
    serde_json::from_str(body.get(start..end).unwrap_or("{}")).unwrap_or_default()
}

/// Reads a JSON stdout.
pub(crate) fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}\n{}", out(o), err(o)))
}

/// Writes a file.
pub(crate) fn write(path: &Path, data: &[u8]) {
    std::fs::write(path, data).expect("write file");
}

/// Sends one raw HTTP request to moto (which does not check signatures; it routes by the
/// credential scope's service name) and returns the body.
fn moto_raw(endpoint: &str, region: &str, service: &str, headers: &str, payload: &str) -> String {
    let addr = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut s = TcpStream::connect(addr).expect("connect moto");
    let req = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\n{headers}\
         Authorization: AWS4-HMAC-SHA256 Credential=AKIDTESTTESTTEST/20260101/{region}/{service}/aws4_request, SignedHeaders=host, Signature=0\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{payload}",
        payload.len()
    );
    s.write_all(req.as_bytes()).expect("write moto");
    let mut resp = String::new();
    s.read_to_string(&mut resp).expect("read moto");
    resp.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default()
}

/// Creates a symmetric KMS key in moto; returns its ARN.
pub(crate) fn moto_kms_key(endpoint: &str, region: &str) -> String {
    let body = moto_raw(
        endpoint,
        region,
        "kms",
        "X-Amz-Target: TrentService.CreateKey\r\nContent-Type: application/x-amz-json-1.1\r\n",
        r#"{"Description":"secure-ivr test key"}"#,
    );
    let start = body.find('{').unwrap_or(0);
    let end = body.rfind('}').map(|e| e + 1).unwrap_or(body.len());
    let v: serde_json::Value = serde_json::from_str(body.get(start..end).unwrap_or("{}")).unwrap_or_default();
    v["KeyMetadata"]["Arn"].as_str().unwrap_or_else(|| panic!("moto CreateKey: {body}")).to_owned()
}

/// Percent-encodes a form value (query protocol).
pub(crate) fn form_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// One CloudFormation (query protocol) call to moto; returns the XML body.
pub(crate) fn moto_cloudformation(endpoint: &str, region: &str, action: &str, params: &[(&str, &str)]) -> String {
    let mut form = format!("Action={action}&Version=2010-05-15");
    for (k, v) in params {
        form.push_str(&format!("&{}={}", form_encode(k), form_encode(v)));
    }
    moto_raw(
        endpoint,
        region,
        "cloudformation",
        "Content-Type: application/x-www-form-urlencoded; charset=utf-8\r\n",
        &form,
    )
}

/// A template with only a no-op resource (CloudFormation requires one) and the given outputs,
/// so moto can take a stack to CREATE_COMPLETE with exactly the outputs a test needs.
pub(crate) fn outputs_template(outputs: &[(&str, &str)]) -> String {
    let outs: serde_json::Map<String, serde_json::Value> =
        outputs.iter().map(|(k, v)| ((*k).to_owned(), serde_json::json!({ "Value": v }))).collect();
    serde_json::json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": { "Nothing": { "Type": "AWS::CloudFormation::WaitConditionHandle" } },
        "Outputs": outs,
    })
    .to_string()
}

/// One raw call to moto (it does not check signatures; it routes on the credential scope).
pub(crate) fn moto_call(
    endpoint: &str,
    region: &str,
    service: &str,
    headers: &[(&str, &str)],
    method: &str,
    path: &str,
    body: &str,
) -> (u16, String) {
    let addr = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut s = TcpStream::connect(addr).expect("connect moto");
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKIDTESTTESTTEST/20260101/{region}/{service}/aws4_request, SignedHeaders=host, Signature=0\r\n\
         Content-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).expect("write moto");
    let mut resp = String::new();
    s.read_to_string(&mut resp).expect("read moto");
    let status = resp.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = resp.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}

/// The outputs (and the one parameter) of a test stack, as cloudformation/secure-ivr.yaml has them.
pub(crate) struct StackOut<'a> {
    pub(crate) role: &'a str,
    pub(crate) function: &'a str,
    pub(crate) key: &'a str,
    pub(crate) alert: bool,
    /// The stack parameter LegacyParameterName ("": none, the template's default).
    pub(crate) legacy: &'a str,
    pub(crate) prefix: &'a str,
}

/// A stack that completes in moto and has the outputs of cloudformation/secure-ivr.yaml.
pub(crate) fn create_stack(m: &str, region: &str, name: &str, o: &StackOut<'_>) {
    let template = serde_json::json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Parameters": {"LegacyParameterName": {"Type": "String", "Default": ""}},
        "Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {
            "FunctionArn": {"Value": o.function},
            "FunctionRoleArn": {"Value": o.role},
            "KeyParameterPrefix": {"Value": o.prefix},
            "KeyParametersKmsKeyArn": {"Value": o.key},
            "KeyAccessAlert": {"Value": if o.alert { "true" } else { "false" }},
            "LogGroupName": {"Value": format!("/aws/lambda/{name}")}
        }
    })
    .to_string();
    let body = format!(
        "Action=CreateStack&Version=2010-05-15&StackName={}&TemplateBody={}&Parameters.member.1.ParameterKey=LegacyParameterName&Parameters.member.1.ParameterValue={}",
        form_encode(name),
        form_encode(&template),
        form_encode(o.legacy)
    );
    let form = [("Content-Type", "application/x-www-form-urlencoded")];
    let cfn = |body: &str| moto_call(m, region, "cloudformation", &form, "POST", "/", body);
    let (status, text) = cfn(&body);
    assert_eq!(status, 200, "CreateStack: {text}");
    let (_, text) = cfn(&format!("Action=DescribeStacks&Version=2010-05-15&StackName={}", form_encode(name)));
    assert!(
        text.contains("<StackStatus>CREATE_COMPLETE</StackStatus>"),
        "the test stack did not complete in moto: {text}"
    );
}
