//! [`Client::post_chunked`]: one query per chunk of queue ids, run
//! concurrently to completion through [`settle_all`], so that no request
//! already on the wire is abandoned because a sibling failed first.

use reqwest::{Method, Url};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::client::Client;
use super::endpoint::Endpoint;
use super::error::Error;
use crate::tasks::settle_all;

impl Client {
    /// POSTs `body(chunk)` to `endpoint` for each chunk of at most
    /// `--api.chunk-size` queue ids, concurrently under the shared budget, and
    /// returns the parsed answers in chunk order.
    pub(super) async fn post_chunked<T>(
        &self,
        endpoint: Endpoint,
        queue_ids: &[String],
        body: impl Fn(&[String]) -> Value,
    ) -> Result<Vec<T>, Error>
    where
        T: DeserializeOwned + Send + 'static,
    {
        let url = Url::parse(&format!("{}{}", self.inner.api_base, endpoint.path()))
            .map_err(|e| Error::Config(format!("invalid API base URL: {e}")))?;
        let calls = queue_ids
            .chunks(self.inner.config.chunk_size)
            .map(|chunk| {
                let body = body(chunk);
                let client = self.clone();
                let url = url.clone();
                async move {
                    client
                        .inner
                        .call_json::<T>(endpoint, Method::POST, url, Some(&body))
                        .await
                }
            })
            .collect::<Vec<_>>();
        settle_all(calls, |cause| Error::LostTask { endpoint, cause }).await
    }
}
