//! One notification WebSocket (I/O edge): connects to a channel's
//! `connectUri` (`ws://` or `wss://` over rustls with the ring provider and
//! the webpki roots), turns each text frame into a [`Message`], answers the
//! server's pings, sends `{"message":"ping"}` every third of the heartbeat
//! timeout and ends as [`SocketEnd::Silent`] when nothing (heartbeat, pong or
//! event) arrived for the whole timeout. Frames are bounded in size. The
//! URI's query string never reaches a log or an error ([`redact`]).

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::time::{sleep_until, Instant};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use super::message::{self, Message};

/// The largest message or frame accepted from the socket.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;

/// How long connecting (TCP, TLS and the upgrade) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a socket ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocketEnd {
    /// Nothing arrived for the heartbeat timeout.
    Silent,
    /// The server closed the socket.
    Closed,
    /// A read or write failed (the cause, without the URI).
    Error(String),
}

/// A connected notification socket.
#[derive(Debug)]
pub struct Socket {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    timeout: Duration,
    last_heard: Instant,
    next_ping: Instant,
}

/// `uri` without its query string or fragment, for logs and errors.
pub fn redact(uri: &str) -> &str {
    let end = uri.find(['?', '#']).unwrap_or(uri.len());
    &uri[..end]
}

/// How often a ping is sent for a heartbeat `timeout`: a third of it, at
/// least 100 ms.
pub fn ping_every(timeout: Duration) -> Duration {
    (timeout / 3).max(Duration::from_millis(100))
}

/// The TLS settings of `wss://` sockets: ring, webpki roots, no client auth.
fn tls() -> Result<Arc<rustls::ClientConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS settings: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

impl Socket {
    /// Connects to `uri`; `timeout` is the heartbeat timeout.
    pub async fn connect(uri: &str, timeout: Duration) -> Result<Socket, String> {
        let shown = redact(uri);
        let connector = if uri.starts_with("wss://") {
            Connector::Rustls(tls()?)
        } else if uri.starts_with("ws://") {
            Connector::Plain
        } else {
            return Err(format!("{shown}: not a ws:// or wss:// URI"));
        };
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_MESSAGE_BYTES))
            .max_frame_size(Some(MAX_MESSAGE_BYTES));
        let connect = tokio_tungstenite::connect_async_tls_with_config(
            uri,
            Some(config),
            true,
            Some(connector),
        );
        let (ws, _) = tokio::time::timeout(CONNECT_TIMEOUT, connect)
            .await
            .map_err(|_| format!("{shown}: no connection within {CONNECT_TIMEOUT:?}"))?
            .map_err(|e| format!("{shown}: {}", describe(&e)))?;
        let now = Instant::now();
        Ok(Socket {
            ws,
            timeout,
            last_heard: now,
            next_ping: now + ping_every(timeout),
        })
    }

    /// The next message, or why the socket ended. Cancel-safe between
    /// messages (dropping the future loses nothing already parsed).
    pub async fn next(&mut self) -> Result<Message, SocketEnd> {
        loop {
            let silent_at = self.last_heard + self.timeout;
            tokio::select! {
                frame = self.ws.next() => {
                    let frame = match frame {
                        None => return Err(SocketEnd::Closed),
                        Some(Err(e)) => return Err(SocketEnd::Error(describe(&e))),
                        Some(Ok(f)) => f,
                    };
                    match frame {
                        Frame::Text(text) => {
                            let m = message::parse(text.as_str());
                            if m != Message::Malformed {
                                self.last_heard = Instant::now();
                            }
                            return Ok(m);
                        }
                        Frame::Binary(_) => return Ok(Message::Malformed),
                        Frame::Close(_) => return Err(SocketEnd::Closed),
                        // tungstenite queues the pong reply itself; it goes
                        // out with the next write or flush.
                        Frame::Ping(_) | Frame::Pong(_) | Frame::Frame(_) => {
                            self.flush().await?;
                        }
                    }
                }
                () = sleep_until(self.next_ping) => {
                    self.next_ping = Instant::now() + ping_every(self.timeout);
                    let ping = Frame::Text(r#"{"message":"ping"}"#.into());
                    self.ws.send(ping).await.map_err(|e| SocketEnd::Error(describe(&e)))?;
                }
                () = sleep_until(silent_at) => return Err(SocketEnd::Silent),
            }
        }
    }

    async fn flush(&mut self) -> Result<(), SocketEnd> {
        self.ws
            .flush()
            .await
            .map_err(|e| SocketEnd::Error(describe(&e)))
    }

    /// Closes the socket politely (bounded in time; errors are ignored).
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(2), self.ws.close(None)).await;
    }
}

/// A socket error in words, without any URI in it.
fn describe(e: &tokio_tungstenite::tungstenite::Error) -> String {
    use tokio_tungstenite::tungstenite::Error as E;
    match e {
        E::Http(r) => format!("refused with HTTP {}", r.status().as_u16()),
        E::Url(_) => String::from("invalid socket URI"),
        E::Io(io) => format!("I/O error: {}", io.kind()),
        E::Tls(t) => format!("TLS error: {t}"),
        E::Capacity(c) => format!("message too large: {c}"),
        E::Protocol(p) => format!("protocol error: {p}"),
        E::ConnectionClosed | E::AlreadyClosed => String::from("connection closed"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Query strings and fragments never show; the rest does.
    #[test]
    fn redacts_queries() {
        assert_eq!(
            redact("wss://streaming.example/channels/c1?token=secret"),
            "wss://streaming.example/channels/c1"
        );
        assert_eq!(redact("ws://h/c#frag?x"), "ws://h/c");
        assert_eq!(redact("ws://h/c"), "ws://h/c");
    }

    /// Pings every third of the timeout, never more often than 10 a second.
    #[test]
    fn ping_interval() {
        assert_eq!(ping_every(Duration::from_secs(60)), Duration::from_secs(20));
        assert_eq!(
            ping_every(Duration::from_millis(90)),
            Duration::from_millis(100)
        );
    }

    /// The TLS settings build with the ring provider and some roots.
    #[test]
    fn tls_settings_build() {
        assert!(tls().is_ok());
    }

    /// A loopback WebSocket server: sends `script` (text, or a ping for
    /// `"<ping>"`), then reads until the client goes, returning the text
    /// frames it got and whether a pong came back.
    async fn server(
        script: Vec<&'static str>,
        close: bool,
    ) -> (String, tokio::task::JoinHandle<(Vec<String>, bool)>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let uri = format!(
            "ws://{}/channels/c1?secret=x",
            listener.local_addr().expect("addr")
        );
        let task = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.expect("accept");
            let mut ws = tokio_tungstenite::accept_async(tcp).await.expect("upgrade");
            for frame in script {
                let f = if frame == "<ping>" {
                    Frame::Ping(vec![1, 2].into())
                } else {
                    Frame::Text(frame.into())
                };
                ws.send(f).await.expect("send");
            }
            if close {
                let _ = ws.close(None).await;
            }
            let (mut texts, mut pong) = (Vec::new(), false);
            while let Some(Ok(f)) = ws.next().await {
                match f {
                    Frame::Text(t) => texts.push(t.as_str().to_string()),
                    Frame::Pong(_) => pong = true,
                    _ => {}
                }
            }
            (texts, pong)
        });
        (uri, task)
    }

    /// Frames become messages; a server ping is answered; the client pings
    /// on its own; a socket that then says nothing ends as silent.
    #[tokio::test]
    async fn messages_pings_and_silence() {
        let heartbeat =
            r#"{"topicName":"channel.metadata","eventBody":{"message":"WebSocket Heartbeat"}}"#;
        let (uri, task) = server(vec![heartbeat, "<ping>", "not json"], false).await;
        let mut socket = Socket::connect(&uri, Duration::from_millis(600))
            .await
            .expect("connects");
        assert_eq!(socket.next().await, Ok(Message::Heartbeat));
        assert_eq!(socket.next().await, Ok(Message::Malformed));
        assert_eq!(socket.next().await, Err(SocketEnd::Silent));
        drop(socket);
        let (texts, pong) = task.await.expect("server");
        assert!(pong, "the server's ping was answered");
        assert!(
            texts.iter().any(|t| t == r#"{"message":"ping"}"#),
            "{texts:?}"
        );
    }

    /// A server close ends the socket as closed.
    #[tokio::test]
    async fn server_close() {
        let (uri, task) = server(Vec::new(), true).await;
        let mut socket = Socket::connect(&uri, Duration::from_secs(60))
            .await
            .expect("connects");
        assert_eq!(socket.next().await, Err(SocketEnd::Closed));
        socket.close().await;
        task.await.expect("server");
    }

    /// A refused upgrade names the status, not the query string.
    #[tokio::test]
    async fn refused_upgrade() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let (mut tcp, _) = listener.accept().await.expect("accept");
            let mut buf = [0u8; 1024];
            let _ = tcp.read(&mut buf).await;
            let _ = tcp
                .write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
                .await;
        });
        let e = Socket::connect(&format!("ws://{addr}/c?secret=1"), Duration::from_secs(5))
            .await
            .expect_err("refused");
        assert!(e.contains("HTTP 404"), "{e}");
        assert!(!e.contains("secret"), "{e}");
    }

    /// A URI of another scheme is refused before any I/O, naming no query.
    #[tokio::test]
    async fn other_schemes_refused() {
        let e = Socket::connect("http://h/c?secret=1", Duration::from_secs(1))
            .await
            .expect_err("refused");
        assert!(!e.contains("secret"), "{e}");
    }
}
