//! OpenTelemetry traces over OTLP (the `otlp` cargo feature, off by default): the spans and
//! events the log subscriber sees (the same `RUST_LOG` filter, so the same closed facts:
//! the `request` span carries the request line's fields as attributes) are exported to the
//! collector named by the standard OTLP variables, read by the exporter itself:
//! `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`), plus
//! `OTEL_SERVICE_NAME` (default `tsunagi`) and `OTEL_RESOURCE_ATTRIBUTES`. HTTP/protobuf over
//! plain HTTP (a collector or agent beside the hub; no TLS client is built in), batched on
//! the exporter's own thread. Unset endpoint: no exporter, nothing sent.

use std::sync::OnceLock;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{SdkTracerProvider, Tracer};
use opentelemetry_sdk::Resource;
use tracing_opentelemetry::OpenTelemetryLayer;

static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// Whether a collector is configured.
fn configured() -> bool {
    [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ]
    .iter()
    .any(|v| std::env::var_os(v).is_some_and(|x| !x.is_empty()))
}

/// The layer sending spans to the collector, or None when none is configured (or the
/// exporter cannot be built: then said on stderr, and the hub runs without traces).
pub(super) fn layer<S>() -> Option<OpenTelemetryLayer<S, Tracer>>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    if !configured() {
        return None;
    }
    let exporter = match opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()
    {
        Ok(e) => e,
        Err(e) => {
            // The subscriber is not installed yet: stderr directly.
            eprintln!("OTLP exporter not started (no traces): {e}");
            return None;
        }
    };
    let mut resource = Resource::builder();
    if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
        resource = resource.with_service_name("tsunagi");
    }
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource.build())
        .build();
    let tracer = provider.tracer("tsunagi");
    let _ = PROVIDER.set(provider);
    Some(tracing_opentelemetry::layer().with_tracer(tracer))
}

/// Flush what is buffered and stop the exporter.
pub(super) fn shutdown() {
    if let Some(provider) = PROVIDER.get() {
        let _ = provider.shutdown();
    }
}
