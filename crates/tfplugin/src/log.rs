//! Logging the way Terraform reads it: hclog JSON lines on stderr
//! (`@level`, `@message`, `@module`, `@timestamp` with exactly six
//! fractional digits, other fields as keys), level from `TF_LOG_PROVIDER`
//! or `TF_LOG`. Plus the panic hook: a line starting `panic: ` makes
//! Terraform report "the plugin crashed" with our backtrace.

use std::io::Write;

use serde_json::{Map, Value as Json};
use time::format_description::FormatItem;
use time::macros::format_description;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

const TIMESTAMP: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

/// The level Terraform asked for: `TF_LOG_PROVIDER` wins over `TF_LOG`;
/// `JSON` means trace; unset or unrecognised means warnings and errors only.
pub fn level_from_env(get: impl Fn(&str) -> Option<String>) -> LevelFilter {
    let raw = get("TF_LOG_PROVIDER")
        .filter(|v| !v.is_empty())
        .or_else(|| get("TF_LOG"))
        .unwrap_or_default();
    match raw.to_ascii_uppercase().as_str() {
        "TRACE" | "JSON" => LevelFilter::TRACE,
        "DEBUG" => LevelFilter::DEBUG,
        "INFO" => LevelFilter::INFO,
        "WARN" => LevelFilter::WARN,
        "ERROR" => LevelFilter::ERROR,
        "OFF" => LevelFilter::OFF,
        _ => LevelFilter::WARN,
    }
}

/// A tracing layer writing hclog JSON lines to a writer (stderr in production).
pub struct HclogLayer<W> {
    make_writer: W,
}

impl<W> HclogLayer<W> {
    pub fn new(make_writer: W) -> Self {
        Self { make_writer }
    }
}

#[derive(Default)]
struct Fields(Map<String, Json>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().to_string(), Json::String(format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0
            .insert(field.name().to_string(), Json::String(value.to_string()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_string(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_string(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_string(), value.into());
    }
}

/// One log line; public for tests of the exact format.
pub fn format_line(
    level: &Level,
    message: &str,
    fields: Map<String, Json>,
    now: time::OffsetDateTime,
) -> String {
    let mut obj = Map::new();
    let lvl = match *level {
        Level::TRACE => "trace",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warn",
        Level::ERROR => "error",
    };
    obj.insert("@level".into(), lvl.into());
    obj.insert("@message".into(), message.into());
    obj.insert("@module".into(), "provider".into());
    let ts = now
        .to_offset(time::UtcOffset::UTC)
        .format(TIMESTAMP)
        .unwrap_or_default();
    obj.insert("@timestamp".into(), ts.into());
    for (k, v) in fields {
        obj.entry(k).or_insert(v);
    }
    let mut s = Json::Object(obj).to_string();
    s.push('\n');
    s
}

impl<S, W> Layer<S> for HclogLayer<W>
where
    S: Subscriber,
    W: for<'a> tracing_subscriber::fmt::MakeWriter<'a> + 'static,
{
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let message = match fields.0.remove("message") {
            Some(Json::String(s)) => s,
            Some(other) => other.to_string(),
            None => String::new(),
        };
        let line = format_line(
            event.metadata().level(),
            &message,
            fields.0,
            time::OffsetDateTime::now_utc(),
        );
        // Logging must never take the provider down; a closed stderr is ignored.
        let _ = self.make_writer.make_writer().write_all(line.as_bytes());
    }
}

/// The gRPC/HTTP2/TLS stack logs every frame at debug level; that drowns
/// the provider's own messages, so it only speaks at TRACE (or on warnings).
const TRANSPORT_CRATES: &[&str] = &[
    "h2",
    "hyper",
    "hyper_util",
    "tonic",
    "tower",
    "rustls",
    "tokio_rustls",
];

/// Which events go out at `level`.
pub fn filter(level: LevelFilter) -> Targets {
    let transport = if level == LevelFilter::TRACE {
        LevelFilter::TRACE
    } else {
        level.min(LevelFilter::WARN)
    };
    TRANSPORT_CRATES
        .iter()
        .fold(Targets::new().with_default(level), |t, c| {
            t.with_target(*c, transport)
        })
}

/// Installs the stderr hclog layer as the global subscriber (once).
pub fn init() {
    let level = level_from_env(|k| std::env::var(k).ok());
    let _ = tracing_subscriber::registry()
        .with(HclogLayer::new(std::io::stderr).with_filter(filter(level)))
        .try_init();
}

/// Installs a panic hook printing `panic: MESSAGE` and a backtrace to
/// stderr, then exiting with status 2, as Go programs do.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let msg = if let Some(s) = info.payload().downcast_ref::<&str>() {
            (*s).to_string()
        } else if let Some(s) = info.payload().downcast_ref::<String>() {
            s.clone()
        } else {
            "unknown panic payload".to_string()
        };
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let bt = std::backtrace::Backtrace::force_capture();
        let mut err = std::io::stderr().lock();
        let _ = writeln!(
            err,
            "panic: {msg}\n\ngoroutine 1 [running]:\n{location}\n{bt}"
        );
        let _ = err.flush();
        std::process::exit(2);
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hclog_line_format() {
        let now = time::macros::datetime!(2026-01-02 15:04:05.123 UTC);
        let mut f = Map::new();
        f.insert("tf_rpc".into(), "ApplyResourceChange".into());
        let line = format_line(&Level::INFO, "hello", f, now);
        assert_eq!(
            line,
            "{\"@level\":\"info\",\"@message\":\"hello\",\"@module\":\"provider\",\"@timestamp\":\"2026-01-02T15:04:05.123000Z\",\"tf_rpc\":\"ApplyResourceChange\"}\n"
        );
    }

    #[test]
    fn levels_from_env() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(a, _)| *a == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(level_from_env(env(&[])), LevelFilter::WARN);
        assert_eq!(
            level_from_env(env(&[("TF_LOG", "debug")])),
            LevelFilter::DEBUG
        );
        assert_eq!(
            level_from_env(env(&[("TF_LOG", "debug"), ("TF_LOG_PROVIDER", "TRACE")])),
            LevelFilter::TRACE
        );
        assert_eq!(
            level_from_env(env(&[("TF_LOG", "JSON")])),
            LevelFilter::TRACE
        );
    }

    #[test]
    fn transport_noise_only_at_trace() {
        let debug = filter(LevelFilter::DEBUG);
        assert!(debug.would_enable("testbed", &Level::DEBUG));
        assert!(!debug.would_enable("h2::codec", &Level::DEBUG));
        assert!(debug.would_enable("h2::codec", &Level::WARN));
        assert!(filter(LevelFilter::TRACE).would_enable("h2::codec", &Level::DEBUG));
    }
}
