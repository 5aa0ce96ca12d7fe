//! The client's command-line flags ([`ClientArgs`]), flattened into the
//! exporter's and the `report` command's flags, and their validation into a
//! [`ClientConfig`]. The client secret is read from the environment or a file,
//! never from a flag.

use std::path::PathBuf;
use std::time::Duration;

use super::config::{self, ClientConfig};
use super::error::Error;
use super::region;
use crate::secret::Secret;

/// Environment variable holding the client secret (there is no flag for it).
pub const CLIENT_SECRET_ENV: &str = "GENESYS_CLIENT_SECRET";

/// Genesys connection and API-budget flags.
#[derive(Debug, Clone, clap::Args)]
pub struct ClientArgs {
    /// Genesys Cloud region: an SDK region id (us_east_1, eu_west_1, …) or its
    /// domain (mypurecloud.ie, …).
    #[arg(
        long = "genesys.region",
        env = "GENESYS_REGION",
        default_value = "us_east_1"
    )]
    pub region: String,

    /// API base URL, overriding the region (e.g. a simulator at http://127.0.0.1:8080).
    #[arg(long = "genesys.api-url", env = "GENESYS_API_URL")]
    pub api_url: Option<String>,

    /// Login base URL for /oauth/token, overriding the one derived from the API
    /// host (`api.<domain>` → `login.<domain>`; any other host is used as is).
    #[arg(long = "genesys.login-url", env = "GENESYS_LOGIN_URL")]
    pub login_url: Option<String>,

    /// OAuth client-credentials client id. The secret comes from
    /// GENESYS_CLIENT_SECRET or --genesys.client-secret-file.
    #[arg(long = "genesys.client-id", env = "GENESYS_CLIENT_ID")]
    pub client_id: Option<String>,

    /// File holding the OAuth client secret (trailing newline ignored).
    #[arg(
        long = "genesys.client-secret-file",
        env = "GENESYS_CLIENT_SECRET_FILE"
    )]
    pub client_secret_file: Option<PathBuf>,

    /// Client-side budget of API requests per rolling minute, all endpoints
    /// together (Genesys allows 300 per token).
    #[arg(
        long = "api.requests-per-minute",
        env = "GENESYS_EXPORTER_API_REQUESTS_PER_MINUTE",
        default_value_t = config::DEFAULT_REQUESTS_PER_MINUTE
    )]
    pub requests_per_minute: u32,

    /// Largest number of API requests in flight at once.
    #[arg(
        long = "api.concurrency",
        env = "GENESYS_EXPORTER_API_CONCURRENCY",
        default_value_t = config::DEFAULT_CONCURRENCY
    )]
    pub concurrency: usize,

    /// Timeout of one HTTP request, response body included (1s–10m).
    #[arg(long = "api.timeout", env = "GENESYS_EXPORTER_API_TIMEOUT", default_value = "15s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,

    /// Deadline of one API call, all retries and waits included (--api.timeout up to 1h).
    #[arg(long = "api.deadline", env = "GENESYS_EXPORTER_API_DEADLINE", default_value = "60s", value_parser = humantime::parse_duration)]
    pub deadline: Duration,

    /// Queue ids per aggregates query (1–200); observations carry up to 200.
    /// Both halve for the process lifetime on a 400 naming a predicate limit.
    #[arg(
        long = "api.chunk-size",
        env = "GENESYS_EXPORTER_API_CHUNK_SIZE",
        default_value_t = config::DEFAULT_CHUNK_SIZE
    )]
    pub chunk_size: usize,

    /// Retries after the first attempt for 429, 5xx, timeouts and network errors.
    #[arg(
        long = "api.max-retries",
        env = "GENESYS_EXPORTER_API_MAX_RETRIES",
        default_value_t = config::DEFAULT_MAX_RETRIES
    )]
    pub max_retries: u32,

    /// pageSize of the queue listing (1–500).
    #[arg(
        long = "api.page-size",
        env = "GENESYS_EXPORTER_API_PAGE_SIZE",
        default_value_t = config::DEFAULT_PAGE_SIZE
    )]
    pub page_size: u32,

    /// Largest API response body read, in bytes.
    #[arg(
        long = "api.max-response-bytes",
        env = "GENESYS_EXPORTER_API_MAX_RESPONSE_BYTES",
        default_value_t = config::DEFAULT_MAX_BODY_BYTES
    )]
    pub max_response_bytes: usize,
}

impl ClientArgs {
    /// Validates the flags and reads the secret (from `GENESYS_CLIENT_SECRET`
    /// or the secret file). Errors are one line naming the flag or variable.
    pub fn to_config(&self) -> Result<ClientConfig, Error> {
        self.to_config_with_secret_env(std::env::var(CLIENT_SECRET_ENV).ok())
    }

    /// As [`ClientArgs::to_config`], with the value of `GENESYS_CLIENT_SECRET` given.
    pub fn to_config_with_secret_env(
        &self,
        secret_env: Option<String>,
    ) -> Result<ClientConfig, Error> {
        let (api_base, derived_login) = match &self.api_url {
            Some(url) => {
                let api = region::parse_base_url(url, "--genesys.api-url (GENESYS_API_URL)")
                    .map_err(Error::Config)?;
                let login = region::login_base_for_api(&api);
                (api, login)
            }
            None => {
                let api = region::resolve_api_base(&self.region).map_err(Error::Config)?;
                let login = region::login_base_for_api(&api);
                (api, login)
            }
        };
        let login_base = match &self.login_url {
            Some(url) => region::parse_base_url(url, "--genesys.login-url (GENESYS_LOGIN_URL)")
                .map_err(Error::Config)?,
            None => derived_login,
        };
        let client_id = self.client_id.clone().unwrap_or_default();
        if client_id.trim().is_empty() {
            return Err(Error::Config(
                "missing client id: set --genesys.client-id or GENESYS_CLIENT_ID".into(),
            ));
        }
        let secret = self.read_secret(secret_env)?;
        let mut config = ClientConfig::for_base_url(api_base.as_str(), client_id.trim(), secret)?;
        config.api_base = api_base;
        config.login_base = login_base;
        config.requests_per_minute = self.requests_per_minute;
        config.concurrency = self.concurrency;
        config.request_timeout = self.timeout;
        config.call_deadline = self.deadline;
        config.chunk_size = self.chunk_size;
        config.max_retries = self.max_retries;
        config.page_size = self.page_size;
        config.max_body_bytes = self.max_response_bytes;
        config.validate()?;
        Ok(config)
    }

    fn read_secret(&self, secret_env: Option<String>) -> Result<Secret, Error> {
        let from_env = secret_env.filter(|s| !s.is_empty());
        match (&self.client_secret_file, from_env) {
            (Some(_), Some(_)) => Err(Error::Config(
                "both GENESYS_CLIENT_SECRET and --genesys.client-secret-file are set; keep one"
                    .into(),
            )),
            (None, Some(value)) => Ok(Secret::new(value)),
            (Some(path), None) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    Error::Config(format!(
                        "cannot read --genesys.client-secret-file {}: {e}",
                        path.display()
                    ))
                })?;
                let secret = text.trim_end_matches(['\n', '\r']).to_string();
                if secret.trim().is_empty() {
                    return Err(Error::Config(format!(
                        "--genesys.client-secret-file {} is empty",
                        path.display()
                    )));
                }
                Ok(Secret::new(secret))
            }
            (None, None) => Err(Error::Config(
                "missing client secret: set GENESYS_CLIENT_SECRET or --genesys.client-secret-file"
                    .into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        client: ClientArgs,
    }

    fn parse(args: &[&str]) -> ClientArgs {
        let mut argv = vec!["test"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv).expect("parses").client
    }

    /// A region domain gives the api. and login. hosts; the secret comes from the env value.
    #[test]
    fn region_and_secret() {
        let args = parse(&[
            "--genesys.region",
            "mypurecloud.ie",
            "--genesys.client-id",
            "abc",
        ]);
        let c = args
            .to_config_with_secret_env(Some("pw".into()))
            .expect("valid");
        assert_eq!(c.api_base.as_str(), "https://api.mypurecloud.ie/");
        assert_eq!(c.login_base.as_str(), "https://login.mypurecloud.ie/");
        assert_eq!(c.client_secret.expose(), "pw");
        assert_eq!(c.request_timeout, Duration::from_secs(15));
    }

    /// An API URL override beats the region, and a login URL override beats the derivation.
    #[test]
    fn url_overrides() {
        let args = parse(&[
            "--genesys.region",
            "nowhere",
            "--genesys.api-url",
            "http://127.0.0.1:8080/",
            "--genesys.client-id",
            "abc",
        ]);
        let c = args
            .to_config_with_secret_env(Some("pw".into()))
            .expect("valid");
        assert_eq!(c.login_base, c.api_base);
        let args = parse(&[
            "--genesys.region",
            "eu_central_1",
            "--genesys.login-url",
            "http://127.0.0.1:9000",
            "--genesys.client-id",
            "abc",
        ]);
        let c = args
            .to_config_with_secret_env(Some("pw".into()))
            .expect("valid");
        assert_eq!(c.api_base.host_str(), Some("api.mypurecloud.de"));
        assert_eq!(c.login_base.as_str(), "http://127.0.0.1:9000/");
    }

    /// The secret file is read with its trailing newline removed; problems name the flag.
    #[test]
    fn secret_file() {
        let dir = std::env::temp_dir().join(format!("genesys-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("tmp dir");
        let path = dir.join("secret");
        std::fs::write(&path, "file-secret\n").expect("write");
        let p = path.to_str().expect("utf8");
        let args = parse(&[
            "--genesys.client-id",
            "abc",
            "--genesys.client-secret-file",
            p,
        ]);
        let c = args.to_config_with_secret_env(None).expect("valid");
        assert_eq!(c.client_secret.expose(), "file-secret");
        let both = args
            .to_config_with_secret_env(Some("env".into()))
            .expect_err("both");
        assert!(both.to_string().contains("keep one"));
        std::fs::write(&path, "\n").expect("write");
        let empty = args.to_config_with_secret_env(None).expect_err("empty");
        assert!(empty.to_string().contains("is empty"));
        let missing = parse(&[
            "--genesys.client-id",
            "abc",
            "--genesys.client-secret-file",
            "/nonexistent/x",
        ]);
        let err = missing
            .to_config_with_secret_env(None)
            .expect_err("missing");
        assert!(err.to_string().contains("--genesys.client-secret-file"));
        std::fs::remove_dir_all(&dir).ok();
    }

    /// Missing credentials and bad values give one-line errors naming what to set.
    #[test]
    fn missing_pieces() {
        let no_id = parse(&[]).to_config_with_secret_env(Some("pw".into()));
        assert!(no_id
            .expect_err("no id")
            .to_string()
            .contains("GENESYS_CLIENT_ID"));
        let no_secret = parse(&["--genesys.client-id", "a"]).to_config_with_secret_env(None);
        assert!(no_secret
            .expect_err("no secret")
            .to_string()
            .contains("GENESYS_CLIENT_SECRET"));
        let bad = parse(&["--genesys.client-id", "a", "--api.chunk-size", "0"])
            .to_config_with_secret_env(Some("pw".into()));
        assert!(bad
            .expect_err("chunk")
            .to_string()
            .contains("--api.chunk-size"));
        let region = parse(&["--genesys.client-id", "a", "--genesys.region", "mars_1"])
            .to_config_with_secret_env(Some("pw".into()));
        assert!(region
            .expect_err("region")
            .to_string()
            .contains("--genesys.region"));
    }

    /// The secret never shows in Debug output of the arguments or the config.
    #[test]
    fn secret_not_in_debug() {
        let args = parse(&["--genesys.client-id", "abc"]);
        let c = args
            .to_config_with_secret_env(Some("topsecret-value".into()))
            .expect("valid");
        assert!(!format!("{args:?}{c:?}").contains("topsecret-value"));
    }
}
