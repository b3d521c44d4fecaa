//! {{name}}: an iii worker that registers `{{functionId}}`.

use iii_sdk::{register_worker, InitOptions, RegisterFunction};
use serde_json::{json, Value};
use tokio::signal::unix::{signal, SignalKind};

/// The engine's address: `--url <address>` (the image's CMD; `iii` replaces the value with the
/// engine's real address when it starts the worker), else `III_URL`, else the local default.
fn engine_url() -> String {
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--url" {
            if let Some(url) = args.next() {
                return url;
            }
        } else if let Some(url) = arg.strip_prefix("--url=") {
            return url.to_string();
        }
    }
    std::env::var("III_URL").unwrap_or_else(|_| "ws://localhost:49134".to_string())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = engine_url();
    let iii = register_worker(&url, InitOptions::default());

    iii.register_function(
        "{{functionId}}",
        RegisterFunction::new_async(|input: Value| async move {
            // GREETING comes from the worker's `config:` in config.yaml (the image's ENV is the default).
            let greeting = std::env::var("GREETING").unwrap_or_else(|_| "Hello".to_string());
            let who = input
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("world")
                .to_string();
            Ok::<Value, iii_sdk::Error>(json!({ "message": format!("{greeting}, {who}!") }))
        }),
    );
    println!("{{name}} is ready: {{functionId}} ({url})");

    // As PID 1 in its sandbox the worker gets no default SIGTERM handling: stop cleanly on request.
    let mut terminate = signal(SignalKind::terminate())?;
    tokio::select! {
        _ = terminate.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    iii.shutdown_async().await;
    Ok(())
}
