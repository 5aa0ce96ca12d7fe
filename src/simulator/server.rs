//! The HTTP server: one listener for `/oauth/token` and `/api/v2/...`, with the
//! request pipeline every call goes through: count, latency, outage, scripted
//! and random faults, authentication, rate limit, permission, then the endpoint.
//! Every response is JSON and carries `ININ-Correlation-Id` and `inin-ratelimit-*`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::aggregate;
use super::auth::{correlation_id, Admission};
use super::catalog::{AGGREGATE_METRICS, OBSERVATION_DETAIL_METRICS, OBSERVATION_METRICS};
use super::control::{Control, Fault, Shared, SimEndpoint};
use super::errors::ApiError;
use super::notify::rest::{self as notify_rest, Caller};
use super::notify::socket as notify_socket;
use super::observations::{self, ObsOptions};
use super::org::OrgModel;
use super::query::{self, Limits};
use super::rng::Rng;
use super::routing::{self, Links};
use super::urlenc::parse_pairs;
use super::variants::MediaSettingsMode;
use super::SimConfig;

/// Largest accepted request body (Genesys `request.bytes.max`).
const MAX_BODY: usize = 512_000;

/// A running simulator.
#[derive(Debug)]
pub struct SimHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

/// Starts the simulator on `listener` and returns at once.
pub async fn spawn(config: SimConfig, listener: TcpListener) -> std::io::Result<SimHandle> {
    let addr = listener.local_addr()?;
    let shared = Arc::new(Shared::new(config));
    let app = Router::new()
        .route("/channels/{id}", get(notify_socket::upgrade))
        .fallback(handle)
        .with_state(shared.clone());
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let serve = axum::serve(listener, app).with_graceful_shutdown(async {
            let _ = stopped.await;
        });
        if let Err(err) = serve.await {
            tracing::error!(%err, "simulator server stopped");
        }
    });
    Ok(SimHandle {
        addr,
        shared,
        stop: Some(stop),
        task,
    })
}

impl SimHandle {
    /// `http://IP:PORT` of the listener, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Runtime knobs.
    pub fn control(&self) -> Control {
        Control {
            shared: self.shared.clone(),
        }
    }

    /// The ground truth the simulator answers from.
    pub fn model(&self) -> Arc<OrgModel> {
        self.shared.org.clone()
    }

    /// Stops accepting requests and waits (at most 5 s) for the server to finish.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if tokio::time::timeout(Duration::from_secs(5), &mut self.task)
            .await
            .is_err()
        {
            self.task.abort();
        }
    }
}

/// The route a request maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Endpoint(SimEndpoint),
    WrongMethod,
    Unknown,
}

fn route(method: &Method, path: &str) -> Route {
    let path = path.trim_end_matches('/');
    if notify_rest::is_notifications_path(path) {
        // Several methods per path; the Notifications handler checks them.
        return Route::Endpoint(SimEndpoint::Notifications);
    }
    let (want, ep) = match path {
        "/oauth/token" => (Method::POST, SimEndpoint::Token),
        "/api/v2/routing/queues" => (Method::GET, SimEndpoint::Queues),
        "/api/v2/analytics/conversations/aggregates/query" => {
            (Method::POST, SimEndpoint::Aggregates)
        }
        "/api/v2/analytics/queues/observations/query" => (Method::POST, SimEndpoint::Observations),
        p if queue_id_of(p).is_some() => (Method::GET, SimEndpoint::Queues),
        _ => return Route::Unknown,
    };
    if *method == want {
        Route::Endpoint(ep)
    } else {
        Route::WrongMethod
    }
}

/// The id in `/api/v2/routing/queues/{id}`.
fn queue_id_of(path: &str) -> Option<&str> {
    let id = path.strip_prefix("/api/v2/routing/queues/")?;
    (!id.is_empty() && !id.contains('/')).then_some(id)
}

/// Rate-limit header values of a response.
#[derive(Debug, Clone, Copy)]
struct RateHeaders {
    count: u32,
    allowed: u32,
    reset: u32,
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let cid = correlation_id();
    let allowed = shared.auth().rate_limit;
    let mut rate = RateHeaders {
        count: 0,
        allowed,
        reset: 60,
    };
    let result = pipeline(&shared, &method, &uri, &headers, &body, &mut rate).await;
    let result = match result {
        Ok(Step::Compute(ep)) => {
            // Evaluation is CPU-bound (up to seconds for month-long queries over
            // thousands of queues), so it runs off the async workers.
            let task_shared = shared.clone();
            let task_uri = uri.clone();
            let host = headers
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            tokio::task::spawn_blocking(move || {
                endpoint(&task_shared, ep, &task_uri, host.as_deref(), &body)
            })
            .await
            .unwrap_or_else(|_| Err(ApiError::server(500, None)))
            .map_err(Failure::Api)
        }
        Ok(Step::Done(reply)) => Ok(reply),
        Err(e) => Err(e),
    };
    let (status, body, retry_after) = match result {
        Ok(Reply::Json(v)) => (200, v.to_string(), None),
        Ok(Reply::Raw(text)) => (200, text, None),
        Err(Failure::Api(e)) => (e.status, e.body(&cid).to_string(), e.retry_after),
        Err(Failure::OAuth(e)) => (e.status, e.body().to_string(), None),
    };
    tracing::debug!(%method, path = uri.path(), status, "simulator request");
    respond(status, body, &cid, rate, retry_after)
}

fn respond(
    status: u16,
    body: String,
    cid: &str,
    rate: RateHeaders,
    retry_after: Option<u32>,
) -> Response {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let mut put = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    };
    put("ININ-Correlation-Id", cid.to_string());
    put("inin-ratelimit-count", rate.count.to_string());
    put("inin-ratelimit-allowed", rate.allowed.to_string());
    put("inin-ratelimit-reset", rate.reset.to_string());
    if let Some(s) = retry_after {
        put("Retry-After", s.to_string());
    }
    resp
}

/// A successful body.
enum Reply {
    Json(Value),
    Raw(String),
}

/// Where the request pipeline left a request.
enum Step {
    /// Answered already (token endpoint, faults).
    Done(Reply),
    /// Admitted; the endpoint's answer is still to be computed.
    Compute(SimEndpoint),
}

enum Failure {
    Api(ApiError),
    OAuth(super::errors::OAuthError),
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        Failure::Api(e)
    }
}

async fn pipeline(
    shared: &Shared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    rate: &mut RateHeaders,
) -> Result<Step, Failure> {
    let ep = match route(method, uri.path()) {
        Route::Endpoint(ep) => ep,
        Route::WrongMethod => return Err(ApiError::method_not_allowed().into()),
        Route::Unknown => return Err(ApiError::not_found().into()),
    };
    shared.count(ep);
    shared.record(ep, body);
    if let Some(done) = inject_faults(shared, ep).await? {
        return Ok(done);
    }
    let header_str = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    if ep == SimEndpoint::Token {
        let issued = shared
            .auth()
            .issue(
                header_str(header::AUTHORIZATION),
                header_str(header::CONTENT_TYPE),
                body,
                Instant::now(),
            )
            .map_err(Failure::OAuth)?;
        return Ok(Step::Done(Reply::Json(json!({
            "access_token": issued.access_token,
            "token_type": "bearer",
            "expires_in": issued.expires_in,
        }))));
    }
    let token = admit(shared, header_str(header::AUTHORIZATION), rate)?;
    check_request(shared, ep, &token, body, header_str(header::CONTENT_TYPE))?;
    if ep == SimEndpoint::Notifications {
        let host = header_str(header::HOST);
        return notifications(shared, method, uri, host, body, &token).map(Step::Done);
    }
    Ok(Step::Compute(ep))
}

/// The knobs' faults for this request, in order: latency, an outage, a
/// scripted fault, a random one. `Some` when the fault answers by itself.
async fn inject_faults(shared: &Shared, ep: SimEndpoint) -> Result<Option<Step>, Failure> {
    let (latency, outage, scripted, random) = {
        let mut k = shared.knobs();
        let scripted = k.scripted.get_mut(&ep).and_then(|q| q.pop_front());
        let random = if ep != SimEndpoint::Token && k.fault_rate > 0.0 {
            k.fault_draws += 1;
            random_fault(shared.config.seed, k.fault_draws, k.fault_rate)
        } else {
            None
        };
        (k.latency, k.outage, scripted, random)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if outage {
        return Err(ApiError::server(503, None).into());
    }
    match scripted {
        Some(Fault::Status {
            status,
            retry_after,
        }) => return Err(ApiError::server(status, retry_after).into()),
        Some(Fault::Delay(d)) => tokio::time::sleep(d).await,
        Some(Fault::MalformedBody) => {
            let truncated = "{\"results\": [{\"group\": {\"queueId\": ";
            return Ok(Some(Step::Done(Reply::Raw(truncated.to_string()))));
        }
        None => {}
    }
    match random {
        Some(e) => Err(e.into()),
        None => Ok(None),
    }
}

/// Authenticates the bearer token and admits the request under the token's
/// rate limit, filling the `inin-ratelimit-*` values.
fn admit(
    shared: &Shared,
    authorization: Option<&str>,
    rate: &mut RateHeaders,
) -> Result<String, Failure> {
    let mut auth = shared.auth();
    let now = Instant::now();
    let token = auth.authenticate(authorization, now)?;
    match auth.admit(&token, now) {
        Admission::Admitted { count, reset_secs } => {
            rate.count = count;
            rate.reset = reset_secs;
            Ok(token)
        }
        Admission::Limited { retry_after } => {
            rate.count = auth.rate_limit;
            rate.reset = retry_after;
            Err(ApiError::rate_limited(retry_after).into())
        }
    }
}

/// The endpoint's permission, the body size and its content type.
fn check_request(
    shared: &Shared,
    ep: SimEndpoint,
    token: &str,
    body: &[u8],
    content_type: Option<&str>,
) -> Result<(), Failure> {
    let permission = match ep {
        SimEndpoint::Queues => Some("routing:queue:view"),
        SimEndpoint::Aggregates => Some("analytics:conversationAggregate:view"),
        // Channels need no permission; topics are checked one by one.
        SimEndpoint::Notifications => None,
        _ => Some("analytics:queueObservation:view"),
    };
    if let Some(permission) = permission {
        if !shared.auth().permitted(token, permission) {
            return Err(ApiError::missing_permission(permission).into());
        }
    }
    if body.len() > MAX_BODY {
        return Err(ApiError::too_large().into());
    }
    if ep != SimEndpoint::Queues {
        let ct = content_type.unwrap_or("application/json");
        if !ct.to_ascii_lowercase().starts_with("application/json") {
            return Err(ApiError::unsupported_media_type().into());
        }
    }
    Ok(())
}

/// The channel and subscription endpoints, for the caller behind `token`.
fn notifications(
    shared: &Shared,
    method: &Method,
    uri: &Uri,
    host: Option<&str>,
    body: &[u8],
    token: &str,
) -> Result<Reply, Failure> {
    let (client, observe) = {
        let auth = shared.auth();
        let client = auth.client_of(token).unwrap_or_default().to_string();
        let topic_permission = &shared.config.notify.topic_permission;
        (client, auth.permitted(token, topic_permission))
    };
    let caller = Caller {
        client: &client,
        token,
        observe,
    };
    let query = uri.query().unwrap_or("");
    let reply = notify_rest::answer(shared, method, uri.path(), query, host, body, caller)?;
    Ok(reply.map_or(Reply::Raw(String::new()), Reply::Json))
}

fn endpoint(
    shared: &Shared,
    ep: SimEndpoint,
    uri: &Uri,
    host: Option<&str>,
    body: &[u8],
) -> Result<Reply, ApiError> {
    let c = &shared.config;
    let v = &c.variants;
    let now = shared.now_ms();
    let all_media = v.media_settings == MediaSettingsMode::All;
    match ep {
        SimEndpoint::Queues => match queue_id_of(uri.path().trim_end_matches('/')) {
            Some(id) => routing::get_one(&shared.org, id, now, all_media).map(Reply::Json),
            None => {
                let params = parse_pairs(uri.query().unwrap_or(""));
                let links = Links {
                    next: v.next_uri,
                    host,
                    all_media,
                };
                routing::list(&shared.org, &params, c.max_page_size, now, links).map(Reply::Json)
            }
        },
        SimEndpoint::Aggregates => {
            let limits = Limits {
                max_interval_days: c.max_interval_days,
                max_predicates: v.aggregates_max_predicates.unwrap_or(c.max_predicates),
                max_buckets: c.max_buckets,
                alignment: v.bucket_alignment,
            };
            let q = query::parse(body, limits)?;
            v.check_metrics(&q.metrics, "ConversationAggregateMetric", AGGREGATE_METRICS)?;
            v.check_granularity(q.granularity.as_deref())?;
            let opts = aggregate::AnswerOptions {
                empty: c.empty_results,
                sparse: all_media,
                max_groups: v.aggregates_max_groups,
            };
            aggregate::answer(&shared.org, &q, now, opts).map(Reply::Raw)
        }
        SimEndpoint::Observations => {
            let max = v.observations_max_predicates.unwrap_or(c.max_predicates);
            let q = observations::parse(body, max)?;
            v.check_metrics(&q.metrics, "QueueObservationMetric", OBSERVATION_METRICS)?;
            v.check_metrics(
                &q.detail,
                "QueueObservationDetailMetric",
                OBSERVATION_DETAIL_METRICS,
            )?;
            let opts = ObsOptions {
                longest: c.longest_mode,
                detail_cap: c.observation_detail_cap.max(2),
                all_media,
            };
            Ok(Reply::Json(observations::answer(
                &shared.org,
                &q,
                now,
                opts,
            )))
        }
        SimEndpoint::Token | SimEndpoint::Notifications => Err(ApiError::not_found()),
    }
}

/// Draw `n` of the random-fault stream: a 500/502/503/504 with probability `rate`
/// (half the 503s carry `Retry-After: 1`).
fn random_fault(seed: u64, n: u64, rate: f64) -> Option<ApiError> {
    let mut rng = Rng::new(&[seed, 0xFA, n]);
    if !rng.chance(rate) {
        return None;
    }
    let status = [500, 502, 503, 504][rng.range(0, 3) as usize];
    let retry = (status == 503 && rng.chance(0.5)).then_some(1);
    Some(ApiError::server(status, retry))
}
