//! Data paths against the simulator (and a stub for a hostile link): paging,
//! chunking at 100, observations against the model, oLongestWaiting, empty bodies.

use super::*;

/// Every page of a 250-queue org is read by following `nextUri` (3 pages of 100),
/// and the result equals the simulator's queue list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_reads_every_queue() {
    let sim = start_sim(SimConfig {
        queues: 250,
        ..SimConfig::default()
    })
    .await;
    let control = sim.control();
    let (client, _) = demo_client(&sim.base_url());
    let queues = client.queues(&[]).await.expect("queues");
    assert_eq!(control.request_count(SimEndpoint::Queues), 3);
    let got: BTreeSet<(String, String)> = queues
        .iter()
        .map(|q| (q.id.clone(), q.name.clone()))
        .collect();
    let want: BTreeSet<(String, String)> = sim
        .model()
        .queues()
        .into_iter()
        .map(|q| (q.id, q.name))
        .collect();
    assert_eq!(got, want);
    let model_q = &sim.model().queues()[0];
    let q = queues.iter().find(|q| q.id == model_q.id).expect("listed");
    assert_eq!(q.division_id, model_q.division_id);
    let media: BTreeSet<&str> = q.media.iter().map(|m| m.media_type.as_str()).collect();
    let model_media: BTreeSet<&str> = model_q
        .media
        .iter()
        .map(|m| m.media_type.as_str())
        .collect();
    assert_eq!(media, model_media, "call is reported as voice");
    sim.shutdown().await;
}

/// With 250 queues, aggregates take ceil(250/100) = 3 requests and
/// observations (chunks of 200) ceil(250/200) = 2, and observation counts
/// equal the simulator's own model.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunking_at_one_hundred() {
    let sim = start_sim(SimConfig {
        queues: 250,
        longest_mode: LongestMode::DurationMs,
        ..SimConfig::default()
    })
    .await;
    let control = sim.control();
    let now = jiff::Timestamp::now().as_millisecond() - 60_000;
    control.set_fixed_now(Some(now));
    let (client, _) = demo_client(&sim.base_url());
    let ids: Vec<String> = sim.model().queues().into_iter().map(|q| q.id).collect();
    control.reset_counts();
    let series = client
        .aggregates(&aggregate_request(ids.clone()))
        .await
        .expect("aggregates");
    assert_eq!(control.request_count(SimEndpoint::Aggregates), 3);
    let queues_with_data: BTreeSet<&str> = series.iter().map(|s| s.queue_id.as_str()).collect();
    assert!(queues_with_data.len() > 100, "data came from every chunk");
    let snapshot = client.observations(&ids).await.expect("observations");
    assert_eq!(control.request_count(SimEndpoint::Observations), 2);
    let model = sim.model();
    for q in model.queues() {
        for m in &q.media {
            let truth = model.observe(&q.id, &m.media_type, now);
            let got = snapshot
                .media
                .iter()
                .find(|o| o.queue_id == q.id && o.media_type == m.media_type)
                .expect("every served media is observed");
            assert_eq!(
                (got.waiting, got.interacting, got.alerting),
                (truth.waiting, truth.interacting, truth.alerting),
                "{} {}",
                q.name,
                m.media_type
            );
            let want_longest = truth.oldest_waiting_since_ms.map(|since| now - since);
            if want_longest.is_some() {
                assert_eq!(got.longest_waiting_ms, want_longest);
            }
        }
        let users = model.users(&q.id, now);
        let got = snapshot
            .queues
            .iter()
            .find(|o| o.queue_id == q.id)
            .expect("users");
        assert_eq!(got.members, Some(users.members));
        for (status, n) in &users.on_queue {
            assert_eq!(
                got.on_queue.get(status).copied().unwrap_or(0),
                *n,
                "{status}"
            );
        }
    }
    sim.shutdown().await;
}

/// `oLongestWaiting` given as epoch milliseconds becomes the wait so far.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn longest_waiting_epoch_is_normalised() {
    let sim = start_sim(SimConfig {
        queues: 40,
        traffic_profile: TrafficProfile::Flat,
        ..SimConfig::default()
    })
    .await;
    let now = jiff::Timestamp::now().as_millisecond() - 120_000;
    sim.control().set_fixed_now(Some(now));
    let (client, _) = demo_client(&sim.base_url());
    let ids: Vec<String> = sim.model().queues().into_iter().map(|q| q.id).collect();
    let before = jiff::Timestamp::now().as_millisecond();
    let snapshot = client.observations(&ids).await.expect("observations");
    let after = jiff::Timestamp::now().as_millisecond();
    let mut checked = 0;
    for o in &snapshot.media {
        let truth = sim.model().observe(&o.queue_id, &o.media_type, now);
        if let (Some(since), Some(got)) = (truth.oldest_waiting_since_ms, o.longest_waiting_ms) {
            assert!(got >= before - since && got <= after - since, "{got}");
            checked += 1;
        }
    }
    assert!(checked > 0, "some queue had a waiting interaction");
    sim.shutdown().await;
}

/// A `nextUri` pointing at another host on a page without `pageCount` is
/// refused: the other host never sees a request and the error says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_absolute_next_uri_is_refused() {
    let evil_hits = Arc::new(AtomicU64::new(0));
    let hits = evil_hits.clone();
    let evil = serve_stub(Router::new().fallback(move || {
        let hits = hits.clone();
        async move {
            hits.fetch_add(1, Ordering::SeqCst);
            Json(json!({"entities": []}))
        }
    }))
    .await;
    let next = format!("{evil}/api/v2/routing/queues?pageSize=1&pageNumber=2");
    let stub = serve_stub(
        Router::new()
            .route(
                "/oauth/token",
                post(|| async {
                    Json(json!({"access_token": "stub-token", "token_type": "bearer", "expires_in": 86399}))
                }),
            )
            .route(
                "/api/v2/routing/queues",
                get(move || {
                    let next = next.clone();
                    async move {
                        Json(json!({"entities": [{"id": "q1", "name": "One"}],
                                    "pageSize": 1, "pageNumber": 1, "nextUri": next}))
                    }
                }),
            ),
    )
    .await;
    let (client, _) = demo_client(&stub);
    let err = client.queues(&[]).await.expect_err("refused");
    assert!(matches!(err, Error::UnsafeNextUri { .. }), "{err}");
    assert!(err.to_string().contains("not on the API host"), "{err}");
    assert_eq!(evil_hits.load(Ordering::SeqCst), 0);
}

/// An aggregate query without data yields no series, whether the simulator
/// answers `{}` or `{"results": []}`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_aggregate_bodies_mean_no_data() {
    use genesys_exporter::simulator::EmptyResults;
    for empty_results in [EmptyResults::Omitted, EmptyResults::EmptyArray] {
        let sim = start_sim(SimConfig {
            empty_results,
            ..SimConfig::default()
        })
        .await;
        let (client, _) = demo_client(&sim.base_url());
        let ids: Vec<String> = sim.model().queues().into_iter().map(|q| q.id).collect();
        let mut req = aggregate_request(ids);
        req.media_types = vec!["video".into()];
        let series = client
            .aggregates(&req)
            .await
            .expect("no data is not an error");
        assert!(series.is_empty(), "{empty_results:?}");
        assert_eq!(sim.control().request_count(SimEndpoint::Aggregates), 1);
        sim.shutdown().await;
    }
}
