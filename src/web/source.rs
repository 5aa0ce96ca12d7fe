//! The web config file, re-read whenever it or a file it names changes (so
//! certificates and users rotate without a restart, as with the
//! exporter-toolkit). A change that does not load keeps the last good
//! configuration in force and is logged once.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use super::file::{self, WebConfig};
use super::tls;

/// A loaded configuration: the settings and, with TLS, the rustls config.
#[derive(Debug)]
pub struct Loaded {
    /// The validated settings.
    pub config: WebConfig,
    /// The server TLS configuration, when TLS is on.
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

/// Modification time and size of each watched file (`None`: unreadable).
type Fingerprint = Vec<(PathBuf, Option<(SystemTime, u64)>)>;

/// The config file and its last good load.
#[derive(Debug)]
pub struct WebConfigSource {
    path: PathBuf,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    fingerprint: Fingerprint,
    loaded: Arc<Loaded>,
    /// The fingerprint whose load failed last, so it is logged only once.
    failed: Option<Fingerprint>,
}

impl WebConfigSource {
    /// Loads `path`; the error is one line naming the file and the setting.
    pub fn open(path: &Path) -> Result<WebConfigSource, String> {
        let loaded = load(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let fingerprint = fingerprint(path, &loaded.config);
        Ok(WebConfigSource {
            path: path.to_path_buf(),
            state: Mutex::new(State {
                fingerprint,
                loaded: Arc::new(loaded),
                failed: None,
            }),
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The configuration in force, reloaded first if a watched file changed.
    pub fn current(&self) -> Arc<Loaded> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let now = fingerprint(&self.path, &state.loaded.config);
        if now == state.fingerprint || state.failed.as_ref() == Some(&now) {
            return Arc::clone(&state.loaded);
        }
        let outcome = load(&self.path).and_then(|l| {
            if l.tls.is_some() == state.loaded.tls.is_some() {
                Ok(l)
            } else {
                Err(String::from("turning TLS on or off needs a restart"))
            }
        });
        match outcome {
            Ok(loaded) => {
                tracing::info!(file = %self.path.display(), "web config reloaded");
                state.fingerprint = fingerprint(&self.path, &loaded.config);
                state.loaded = Arc::new(loaded);
                state.failed = None;
            }
            Err(e) => {
                tracing::error!(
                    file = %self.path.display(),
                    error = %e,
                    "web config change not applied; the previous configuration stays in force"
                );
                state.failed = Some(now);
            }
        }
        Arc::clone(&state.loaded)
    }
}

fn load(path: &Path) -> Result<Loaded, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let config = file::parse(&text, dir)?;
    let tls = match &config.tls {
        Some(settings) => Some(Arc::new(tls::server_config(settings)?)),
        None => None,
    };
    Ok(Loaded { config, tls })
}

/// The config file plus every file the configuration `config` reads.
fn fingerprint(path: &Path, config: &WebConfig) -> Fingerprint {
    let mut files = vec![path.to_path_buf()];
    if let Some(tls) = &config.tls {
        files.extend(tls.files());
    }
    files
        .into_iter()
        .map(|f| {
            let meta = std::fs::metadata(&f)
                .ok()
                .and_then(|m| Some((m.modified().ok()?, m.len())));
            (f, meta)
        })
        .collect()
}
