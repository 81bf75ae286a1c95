//! The Stripe connector: a confirmed PaymentIntent with the card as `payment_method_data`
//! (authorize), or a PaymentMethod (tokenize). Needs raw card data APIs enabled on the account.

use bytes::Bytes;
use http::{HeaderValue, Method, Request, StatusCode, header};
use http_body_util::Full;
use serde::Deserialize;
use tokio::time::Instant;

use crate::connector::{BoxFuture, Connector};
use crate::error::ConfigError;
use crate::idempotency::IdempotencyKey;
use crate::outcome::{ErrorKind, OpaqueId, Outcome};
use crate::request::{Operation, PaymentRequest};
use crate::secret::{ConnectorSecret, Overflow, SecretBuf};
use crate::transport::{Answer, Delivery, Roots, Transport};
use crate::url::EndpointUrl;

/// Stripe's API origin.
pub const STRIPE_API_BASE: &str = "https://api.stripe.com";
/// The API version every request pins (`Stripe-Version`), so an account's default upgrade cannot
/// change the answer shapes this mapping reads.
pub const STRIPE_API_VERSION: &str = "2024-06-20";
/// The decline code given for `requires_action` (3-D Secure asked for): the caller cannot
/// authenticate on a phone call, no money moved, and this is the code Stripe itself uses for the
/// same situation off-session.
pub const AUTHENTICATION_REQUIRED: &str = "authentication_required";
const PAYMENT_INTENTS: &str = "/v1/payment_intents";
const PAYMENT_METHODS: &str = "/v1/payment_methods";
const BODY_CAPACITY: usize = 1024;

/// When the funds are captured on an authorization.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Capture {
    /// Stripe's default: charged at once (`succeeded`).
    #[default]
    Automatic,
    /// Authorize only (`requires_capture`); the merchant captures later.
    Manual,
}

/// The Stripe connector. Build once at cold start; cheap to share.
#[derive(Clone)]
pub struct StripeConnector {
    base: EndpointUrl,
    authorization: HeaderValue,
    capture: Capture,
    transport: Transport,
}

impl std::fmt::Debug for StripeConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeConnector")
            .field("base", &self.base)
            .field("capture", &self.capture)
            .finish_non_exhaustive()
    }
}

impl StripeConnector {
    /// Against `https://api.stripe.com` with this secret key (`sk_...` or a restricted `rk_...`).
    pub fn new(api_key: &ConnectorSecret) -> Result<Self, ConfigError> {
        Self::with_base_url(api_key, EndpointUrl::parse(STRIPE_API_BASE)?)
    }

    /// Against another origin (localstripe, a wire fake): `scheme://host[:port]` only.
    pub fn with_base_url(api_key: &ConnectorSecret, base: EndpointUrl) -> Result<Self, ConfigError> {
        if !base.is_base() {
            return Err(ConfigError::UrlHasPath);
        }
        let authorization = bearer(api_key)?;
        let transport = Transport::new(&base, Roots::System)?;
        Ok(Self { base, authorization, capture: Capture::Automatic, transport })
    }

    /// The same base URL, capture and TLS setup with another API key (a refreshed Secrets Manager
    /// value), without reloading the trust store.
    pub fn with_api_key(&self, api_key: &ConnectorSecret) -> Result<Self, ConfigError> {
        Ok(Self { authorization: bearer(api_key)?, ..self.clone() })
    }

    /// Chooses when authorizations are captured (default [`Capture::Automatic`]).
    pub fn with_capture(mut self, capture: Capture) -> Self {
        self.capture = capture;
        self
    }

    async fn run(&self, request: &PaymentRequest, key: &IdempotencyKey, deadline: Instant) -> Outcome {
        let (path, body) = match request.operation() {
            Operation::Authorize(_) => (PAYMENT_INTENTS, self.intent_body(request)),
            Operation::Tokenize => (PAYMENT_METHODS, method_body(request)),
        };
        let Ok(Some(body)) = body else { return Outcome::error(ErrorKind::Unsupported) };
        let body = body.into_bytes();
        let url = self.base.with_path(path);
        let build = || self.request(&url, &body, key);
        let delivery = self.transport.send(&url, build, deadline).await;
        drop(body);
        match delivery {
            Delivery::Answer(answer) => map_answer(request.operation(), &answer),
            Delivery::NotSent => Outcome::error(ErrorKind::Unreachable),
            Delivery::Unknown => Outcome::Unknown,
        }
    }

    fn request(&self, url: &EndpointUrl, body: &Bytes, key: &IdempotencyKey) -> Option<Request<Full<Bytes>>> {
        Request::builder()
            .method(Method::POST)
            .uri(url.path_and_query())
            .header(header::HOST, url.authority()?.as_str())
            .header(header::AUTHORIZATION, self.authorization.clone())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::CONTENT_LENGTH, body.len())
            .header("idempotency-key", key.as_str())
            .header("stripe-version", STRIPE_API_VERSION)
            .body(Full::new(body.clone()))
            .ok()
    }

    /// `POST /v1/payment_intents`: amount, currency, `confirm=true`, card only (so no redirect
    /// method and no `return_url`), the card as `payment_method_data`. `Ok(None)`: no expiry
    /// (Stripe requires it), nothing is sent.
    fn intent_body(&self, request: &PaymentRequest) -> Result<Option<SecretBuf>, Overflow> {
        let (Some(amount), Some(expiry)) = (request.operation().amount(), request.card().expiry()) else {
            return Ok(None);
        };
        let mut b = SecretBuf::with_capacity(BODY_CAPACITY);
        b.push_str("amount=")?;
        b.push_u64(amount.value())?;
        b.push_str("&currency=")?;
        b.push_str(&amount.currency().as_str().to_ascii_lowercase())?;
        b.push_str("&confirm=true&payment_method_types%5B%5D=card")?;
        if self.capture == Capture::Manual {
            b.push_str("&capture_method=manual")?;
        }
        b.push_str("&payment_method_data%5Btype%5D=card")?;
        card_fields(&mut b, "payment_method_data%5Bcard%5D", request, expiry)?;
        contact_metadata(&mut b, request)?;
        Ok(Some(b))
    }
}

/// `POST /v1/payment_methods`: `type=card` and the card. `Ok(None)` without an expiry.
fn method_body(request: &PaymentRequest) -> Result<Option<SecretBuf>, Overflow> {
    let Some(expiry) = request.card().expiry() else { return Ok(None) };
    let mut b = SecretBuf::with_capacity(BODY_CAPACITY);
    b.push_str("type=card")?;
    card_fields(&mut b, "card", request, expiry)?;
    contact_metadata(&mut b, request)?;
    Ok(Some(b))
}

/// `&<prefix>%5Bnumber%5D=...` and the expiry and cvc. Digits need no form encoding.
fn card_fields(
    b: &mut SecretBuf,
    prefix: &str,
    request: &PaymentRequest,
    expiry: crate::Expiry,
) -> Result<(), Overflow> {
    let card = request.card();
    b.push_str("&")?;
    b.push_str(prefix)?;
    b.push_str("%5Bnumber%5D=")?;
    b.push(card.number().expose_digits())?;
    b.push_str("&")?;
    b.push_str(prefix)?;
    b.push_str("%5Bexp_month%5D=")?;
    b.push_u64(u64::from(expiry.month()))?;
    b.push_str("&")?;
    b.push_str(prefix)?;
    b.push_str("%5Bexp_year%5D=")?;
    b.push_u64(u64::from(expiry.year()))?;
    if let Some(cvc) = card.cvc() {
        b.push_str("&")?;
        b.push_str(prefix)?;
        b.push_str("%5Bcvc%5D=")?;
        b.push(cvc.expose_digits())?;
    }
    Ok(())
}

/// `metadata[contact_id]`, so a payment in the Stripe dashboard leads back to the contact. The
/// contact ID's alphabet needs no form encoding.
fn contact_metadata(b: &mut SecretBuf, request: &PaymentRequest) -> Result<(), Overflow> {
    b.push_str("&metadata%5Bcontact_id%5D=")?;
    b.push_str(request.contact_id().as_str())
}

#[derive(Deserialize)]
struct WireObject {
    id: Option<String>,
    object: Option<String>,
    status: Option<String>,
    last_payment_error: Option<WireError>,
}

#[derive(Deserialize)]
struct WireError {
    #[serde(rename = "type")]
    kind: Option<String>,
    code: Option<String>,
    decline_code: Option<String>,
}

#[derive(Deserialize)]
struct WireErrorBody {
    error: WireError,
}

/// `Bearer <key>` in a wiping buffer handed to the header without a copy, marked sensitive.
fn bearer(api_key: &ConnectorSecret) -> Result<HeaderValue, ConfigError> {
    if !api_key.is_visible_ascii() {
        return Err(ConfigError::Secret);
    }
    let mut value = SecretBuf::with_capacity(api_key.expose().len() + 7);
    value.push_str("Bearer ").map_err(|_| ConfigError::Secret)?;
    value.push(api_key.expose()).map_err(|_| ConfigError::Secret)?;
    let mut authorization = HeaderValue::from_maybe_shared(value.into_bytes()).map_err(|_| ConfigError::Secret)?;
    authorization.set_sensitive(true);
    Ok(authorization)
}

impl Connector for StripeConnector {
    fn name(&self) -> &'static str {
        "stripe"
    }

    fn execute<'a>(
        &'a self,
        request: &'a PaymentRequest,
        key: &'a IdempotencyKey,
        deadline: Instant,
    ) -> BoxFuture<'a, Outcome> {
        Box::pin(self.run(request, key, deadline))
    }
}

fn invalid() -> Outcome {
    Outcome::error(ErrorKind::InvalidAnswer)
}

/// The decline code of a card error: `decline_code` (the issuer's reason) when given, else `code`
/// (`card_declined`, `expired_card`, `incorrect_cvc`, ...). A code outside the opaque alphabet is
/// an invalid answer.
fn declined(error: &WireError) -> Outcome {
    match error.decline_code.as_deref().or(error.code.as_deref()) {
        None => Outcome::Declined { decline_code: None },
        Some(code) => OpaqueId::new(code).map_or_else(|_| invalid(), |c| Outcome::Declined { decline_code: Some(c) }),
    }
}

/// Stripe's answers:
/// - 200 PaymentIntent: `succeeded` / `requires_capture` authorized; `processing` unknown (the
///   charge may still complete); `requires_action` declined `authentication_required`;
///   `requires_payment_method` declined with `last_payment_error`'s code; anything else invalid.
/// - 200 PaymentMethod: tokenized.
/// - an error of type `card_error` (402 mostly): declined with its code;
/// - an `idempotency_error` or a 409 (the key was used with other parameters, or is in flight):
///   unknown, since a payment under that key may exist;
/// - 401/403 unauthorized, 429 rate limited, other 4xx rejected (`invalid_request_error`), another
///   2xx unknown.
fn map_answer(operation: Operation, answer: &Answer) -> Outcome {
    if answer.status != StatusCode::OK {
        let error = serde_json::from_slice::<WireErrorBody>(&answer.body).ok().map(|b| b.error);
        let kind = error.as_ref().and_then(|e| e.kind.as_deref());
        if kind == Some("card_error") && answer.status.is_client_error() {
            return error.as_ref().map_or_else(invalid, declined);
        }
        // The key was used before with other parameters, or is in use right now: a payment under
        // this key may exist, so this is no proof that nothing was charged.
        if kind == Some("idempotency_error") || answer.status == StatusCode::CONFLICT {
            return Outcome::Unknown;
        }
        return match answer.status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Outcome::error(ErrorKind::Unauthorized),
            StatusCode::TOO_MANY_REQUESTS => Outcome::error(ErrorKind::RateLimited),
            s if s.is_success() => Outcome::Unknown,
            _ => Outcome::error(ErrorKind::Rejected),
        };
    }
    let Ok(object) = serde_json::from_slice::<WireObject>(&answer.body) else { return invalid() };
    let Some(id) = object.id.and_then(|s| OpaqueId::try_from(s).ok()) else { return invalid() };
    match (operation, object.object.as_deref()) {
        (Operation::Tokenize, Some("payment_method")) => Outcome::Tokenized { token: id },
        (Operation::Authorize(_), Some("payment_intent")) => match object.status.as_deref() {
            Some("succeeded" | "requires_capture") => Outcome::Authorized { payment_id: id },
            Some("processing") => Outcome::Unknown,
            Some("requires_action") => Outcome::Declined { decline_code: OpaqueId::new(AUTHENTICATION_REQUIRED).ok() },
            Some("requires_payment_method") => match &object.last_payment_error {
                Some(e) => declined(e),
                None => Outcome::Declined { decline_code: None },
            },
            _ => invalid(),
        },
        _ => invalid(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Amount, CardData, CardNumber, ContactId, Currency, Cvc, Expiry};

    fn request(op: Operation, expiry: bool) -> PaymentRequest {
        PaymentRequest::new(
            ContactId::new("c-1").unwrap(),
            op,
            CardData::new(
                CardNumber::new(b"4242424242424242").unwrap(),
                expiry.then(|| Expiry::new(12, 2030).unwrap()),
                Some(Cvc::new(b"123").unwrap()),
            ),
        )
    }

    fn connector(capture: Capture) -> StripeConnector {
        let key = ConnectorSecret::new(b"sk_test_x").unwrap();
        StripeConnector::with_base_url(&key, EndpointUrl::parse("http://127.0.0.1:1").unwrap())
            .unwrap()
            .with_capture(capture)
    }

    fn auth() -> Operation {
        Operation::Authorize(Amount::new(1250, Currency::parse("GBP").unwrap()).unwrap())
    }

    #[test]
    fn intent_body_is_stripes_form() {
        let body = connector(Capture::Automatic).intent_body(&request(auth(), true)).unwrap().unwrap();
        assert_eq!(
            std::str::from_utf8(body.as_slice()).unwrap(),
            "amount=1250&currency=gbp&confirm=true&payment_method_types%5B%5D=card\
             &payment_method_data%5Btype%5D=card\
             &payment_method_data%5Bcard%5D%5Bnumber%5D=4242424242424242\
             &payment_method_data%5Bcard%5D%5Bexp_month%5D=12\
             &payment_method_data%5Bcard%5D%5Bexp_year%5D=2030\
             &payment_method_data%5Bcard%5D%5Bcvc%5D=123&metadata%5Bcontact_id%5D=c-1"
        );
        let manual = connector(Capture::Manual).intent_body(&request(auth(), true)).unwrap().unwrap();
        assert!(std::str::from_utf8(manual.as_slice()).unwrap().contains("&capture_method=manual&"));
    }

    #[test]
    fn method_body_is_stripes_form() {
        let body = method_body(&request(Operation::Tokenize, true)).unwrap().unwrap();
        assert_eq!(
            std::str::from_utf8(body.as_slice()).unwrap(),
            "type=card&card%5Bnumber%5D=4242424242424242&card%5Bexp_month%5D=12&card%5Bexp_year%5D=2030\
             &card%5Bcvc%5D=123&metadata%5Bcontact_id%5D=c-1"
        );
    }

    #[test]
    fn the_largest_bodies_fit() {
        let card = CardData::new(
            CardNumber::new(b"4242424242424242123").unwrap(),
            Some(Expiry::new(12, 2030).unwrap()),
            Some(Cvc::new(b"1234").unwrap()),
        );
        let contact = ContactId::new(&"c".repeat(256)).unwrap();
        let big = Operation::Authorize(Amount::new(crate::MAX_AMOUNT, Currency::parse("GBP").unwrap()).unwrap());
        let intent = PaymentRequest::new(contact.clone(), big, card.clone());
        assert!(connector(Capture::Manual).intent_body(&intent).unwrap().is_some());
        assert!(method_body(&PaymentRequest::new(contact, Operation::Tokenize, card)).unwrap().is_some());
    }

    #[test]
    fn no_expiry_no_body() {
        assert!(method_body(&request(Operation::Tokenize, false)).unwrap().is_none());
        assert!(connector(Capture::Automatic).intent_body(&request(auth(), false)).unwrap().is_none());
    }

    #[test]
    fn base_url_must_be_an_origin_and_the_key_header_safe() {
        let key = ConnectorSecret::new(b"sk_test_x").unwrap();
        let with_path = EndpointUrl::parse("http://127.0.0.1:1/v1").unwrap();
        assert_eq!(StripeConnector::with_base_url(&key, with_path).unwrap_err(), ConfigError::UrlHasPath);
        let bad_key = ConnectorSecret::new(b"sk_test x").unwrap();
        let base = EndpointUrl::parse("http://127.0.0.1:1").unwrap();
        assert_eq!(StripeConnector::with_base_url(&bad_key, base).unwrap_err(), ConfigError::Secret);
    }

    fn answer(status: u16, body: &str) -> Answer {
        Answer { status: StatusCode::from_u16(status).unwrap(), body: Bytes::copy_from_slice(body.as_bytes()) }
    }

    #[test]
    fn answers_map_by_the_documented_rule() {
        let id = |s| OpaqueId::new(s).unwrap();
        let pi = |status: &str| format!(r#"{{"id":"pi_1","object":"payment_intent","status":"{status}"}}"#);
        let card_error = |code: &str, decline: &str| {
            format!(r#"{{"error":{{"type":"card_error","code":"{code}","decline_code":"{decline}","message":"m"}}}}"#)
        };
        let cases = [
            (auth(), answer(200, &pi("succeeded")), Outcome::Authorized { payment_id: id("pi_1") }),
            (auth(), answer(200, &pi("requires_capture")), Outcome::Authorized { payment_id: id("pi_1") }),
            (auth(), answer(200, &pi("processing")), Outcome::Unknown),
            (
                auth(),
                answer(200, &pi("requires_action")),
                Outcome::Declined { decline_code: Some(id("authentication_required")) },
            ),
            (auth(), answer(200, &pi("requires_confirmation")), invalid()),
            (auth(), answer(200, &pi("canceled")), invalid()),
            (
                auth(),
                answer(
                    200,
                    r#"{"id":"pi_1","object":"payment_intent","status":"requires_payment_method","last_payment_error":{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds"}}"#,
                ),
                Outcome::Declined { decline_code: Some(id("insufficient_funds")) },
            ),
            (
                Operation::Tokenize,
                answer(200, r#"{"id":"pm_1","object":"payment_method"}"#),
                Outcome::Tokenized { token: id("pm_1") },
            ),
            (Operation::Tokenize, answer(200, &pi("succeeded")), invalid()),
            (auth(), answer(200, r#"{"id":"pm_1","object":"payment_method"}"#), invalid()),
            (auth(), answer(200, r#"{"id":"pi 1","object":"payment_intent","status":"succeeded"}"#), invalid()),
            (
                auth(),
                answer(402, &card_error("card_declined", "insufficient_funds")),
                Outcome::Declined { decline_code: Some(id("insufficient_funds")) },
            ),
            (
                auth(),
                answer(402, r#"{"error":{"type":"card_error","code":"expired_card"}}"#),
                Outcome::Declined { decline_code: Some(id("expired_card")) },
            ),
            (
                auth(),
                answer(402, r#"{"error":{"type":"card_error","code":"incorrect_cvc"}}"#),
                Outcome::Declined { decline_code: Some(id("incorrect_cvc")) },
            ),
            (auth(), answer(402, &card_error("card_declined", "bad code!")), invalid()),
            (
                auth(),
                answer(400, r#"{"error":{"type":"invalid_request_error","code":"parameter_unknown"}}"#),
                Outcome::error(ErrorKind::Rejected),
            ),
            (auth(), answer(400, r#"{"error":{"type":"idempotency_error"}}"#), Outcome::Unknown),
            (
                auth(),
                answer(409, r#"{"error":{"type":"invalid_request_error","code":"idempotency_key_in_use"}}"#),
                Outcome::Unknown,
            ),
            (
                auth(),
                answer(401, r#"{"error":{"type":"invalid_request_error"}}"#),
                Outcome::error(ErrorKind::Unauthorized),
            ),
            (
                auth(),
                answer(429, r#"{"error":{"type":"invalid_request_error","code":"rate_limit"}}"#),
                Outcome::error(ErrorKind::RateLimited),
            ),
            (auth(), answer(200, "{"), invalid()),
        ];
        for (op, a, expected) in cases {
            assert_eq!(map_answer(op, &a), expected, "{} {:?}", a.status, a.body);
        }
    }
}
